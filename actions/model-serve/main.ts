import { accessFromGke } from '../lib/cleanup/kube.js';
import { runAction } from '../lib/entry.js';
import { InputError } from '../lib/errors.js';
import { readAccelerator } from '../lib/gpu.js';
import { readBool, readEnum, readInt, readList, readString } from '../lib/inputs.js';
import { parseGcsPrefix } from '../lib/model/promote.js';
import { deploy, status, undeploy, type ServeSpec } from '../lib/model/serve.js';
import { BUCKET_PATTERN, NAME_PATTERN, readCommon } from '../lib/nodepool/inputs.js';
import { setOutput } from '../lib/runner.js';
import { readServiceAccount } from '../lib/nodepool/inputs.js';
import { Summary } from '../lib/summary.js';

const VERBS = ['deploy', 'status', 'undeploy'] as const;
const SERVICE_TYPES = ['cluster-ip', 'internal-lb'] as const;

/** Every input, read and checked once, before any request. */
function readInputs() {
  const verb = readEnum('verb', VERBS);
  const name = readString('name', { required: true, pattern: NAME_PATTERN, accepted: 'a name: lowercase letters, digits, hyphens, at most 40' });
  const modelUri = readString('model_uri');
  if (verb === 'deploy' && !modelUri) throw new InputError('model_uri', '', 'deploy needs the promoted model\'s gs://bucket/prefix/ (model-promote\'s uri output).');
  const dest = modelUri ? parseGcsPrefix(modelUri) : undefined;
  if (modelUri && !dest?.prefix) throw new InputError('model_uri', modelUri, 'expected gs://bucket/prefix/ (model-promote\'s uri output).');
  const namespace = readString('namespace', { pattern: /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, accepted: 'a Kubernetes namespace name' });
  const servedName = readString('served_model_name', { pattern: /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/, accepted: 'a model id: letters, digits, . _ / -' }) || name;
  const accelerator = readAccelerator('accelerator');
  const acceleratorCount = readInt('accelerator_count', { min: 1, max: 8 });
  const replicas = readInt('replicas', { min: 1, max: 16 });
  const maxModelLen = readInt('max_model_len', { min: 128, max: 1_048_576 });
  const vllmArgs = readList('vllm_args', { item: /^--[a-z0-9-]+(=[!-~]+)?$|^[!-~]+$/, accepted: 'vLLM arguments such as --gpu-memory-utilization=0.9' });
  const serviceType = readEnum('service_type', SERVICE_TYPES);
  const pool = readString('pool', { pattern: NAME_PATTERN, accepted: 'a node pool name' }) || `serve-${name}`.slice(0, 40).replace(/-+$/, '');
  const createPool = readBool('create_pool');
  const serviceAccount = readServiceAccount();
  const bucketInput = readString('snapshot_bucket', { pattern: BUCKET_PATTERN, accepted: 'a Cloud Storage bucket name (no gs://)' });
  const { ref, deadline } = readCommon({ pool: false });
  const spec: ServeSpec = {
    ref,
    name,
    namespace,
    modelUri: dest ? `gs://${dest.bucket}/${dest.prefix}` : '',
    servedName,
    accelerator: accelerator.name,
    acceleratorCount,
    replicas,
    maxModelLen,
    vllmArgs,
    serviceType,
    pool,
    createPool,
    ...(serviceAccount ? { serviceAccount } : {}),
    snapshotBucket: bucketInput || `${ref.project}-nodepool-snapshots`,
    deadline,
  };
  return { verb, spec };
}

await runAction({
  async main() {
    const { verb, spec } = readInputs();
    const kube = await accessFromGke(spec.ref);
    const s = new Summary();
    if (verb === 'undeploy') {
      const r = await undeploy(spec, kube);
      setOutput('endpoint', '');
      setOutput('model', '');
      setOutput('ready_replicas', 0);
      setOutput('hourly_cost', '');
      s.heading(`Model serving removed: ${spec.namespace}/${spec.name}`).table(['', ''], [
        ['Deployment', r.deployment ? 'deleted' : 'absent'],
        ['Service', r.service ? 'deleted' : 'absent'],
        ['GPU pool', r.pool ? `${r.pool.name}: ${r.pool.outcome}${r.pool.snapshot ? ` (snapshot ${r.pool.snapshot})` : ''}` : 'kept: this deploy did not create it'],
      ]);
      s.write();
      return;
    }
    const r = verb === 'deploy' ? await deploy(spec, kube) : await status(spec, kube);
    setOutput('endpoint', r.endpoint);
    setOutput('model', r.model);
    setOutput('ready_replicas', r.readyReplicas);
    setOutput('hourly_cost', r.hourlyCost);
    s.heading(`Model serving${verb === 'status' ? ' status' : ''}: ${spec.namespace}/${spec.name}`).table(['', ''], [
      ['Model', `${r.model || '—'} from ${spec.modelUri || '(see the Deployment)'}`],
      ['Endpoint', r.endpoint || 'not deployed'],
      ['Reach it', r.reach],
      ['Ready replicas', `${r.readyReplicas} of ${spec.replicas}`],
      ['GPU pool', `${spec.pool}${'poolCreated' in r && r.poolCreated ? ' (made by this deploy; undeploy removes it)' : ''}`],
      ['Cost', r.hourlyCost || 'unknown'],
    ]);
    s.write();
  },
});
