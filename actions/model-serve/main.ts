import { homedir } from 'node:os';
import { join } from 'node:path';
import { accessFromGke } from '../lib/cleanup/kube.js';
import { sshHost } from '../lib/config.js';
import { runAction } from '../lib/entry.js';
import { InputError } from '../lib/errors.js';
import { readAccelerator } from '../lib/gpu.js';
import { readActionTimeout, readBool, readEnum, readInt, readList, readSecret, readString, splitList } from '../lib/inputs.js';
import { Kubectl } from '../lib/local-stack/kubectl.js';
import { Refusal } from '../lib/local-stack/node.js';
import { SSH_HOST_PATTERN, SSH_USER_PATTERN, sshDestination } from '../lib/local-stack/results.js';
import { parseGcsPrefix } from '../lib/model/promote.js';
import { deploy, status, undeploy, type ServeSpec } from '../lib/model/serve.js';
import { deployLocal, LOCAL_RUNTIMES, type LocalServeSpec, parseLocalModel, statusLocal, undeployLocal } from '../lib/model/serve-local.js';
import { BUCKET_PATTERN, NAME_PATTERN, readCommon } from '../lib/nodepool/inputs.js';
import { deadlineIn } from '../lib/operations.js';
import { setOutput } from '../lib/runner.js';
import { readServiceAccount } from '../lib/nodepool/inputs.js';
import { Summary } from '../lib/summary.js';

const VERBS = ['deploy', 'status', 'undeploy'] as const;
const SERVICE_TYPES = ['cluster-ip', 'internal-lb'] as const;
const TARGETS = ['cloud', 'local'] as const;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * The inputs of target: local, read and checked once, before anything is asked of the machine's
 * cluster. Their values are checked for target cloud too (a wrong one is wrong either way); there
 * they are not used.
 */
function readLocalInputs(verb: (typeof VERBS)[number], target: (typeof TARGETS)[number], name: string) {
  const local = target === 'local';
  const runtime = readEnum('runtime', LOCAL_RUNTIMES);
  const raw = readString('local_model');
  if (local && verb === 'deploy' && !raw) {
    throw new InputError('local_model', '', runtime === 'nim' ? 'deploy with runtime nim needs the NIM image under nvcr.io/nim as org/model:tag (e.g. meta/llama-3.1-8b-instruct:1.3.3).' : 'deploy with runtime ollama needs an Ollama model name (e.g. llama3.2:3b) or hf.co/USER/REPO:QUANT.');
  }
  const model = raw ? parseLocalModel('local_model', runtime, raw) : '';
  const ngcKey = readSecret('ngc_api_key', { header: true, required: local && verb === 'deploy' && runtime === 'nim', requiredBecause: 'for runtime nim (the image pull from nvcr.io and the model download); nothing was created' });
  const purge = readBool('purge');
  if (purge && verb !== 'undeploy') throw new InputError('purge', 'true', 'purge applies to verb: undeploy only.');
  if (purge && !local) throw new InputError('purge', 'true', 'purge applies to target: local only (a cloud undeploy keeps no data).');
  const confirm = splitList(readString('confirm'));
  const kubeconfig = readString('kubeconfig') || join(homedir(), '.kube', 'config');
  const host = readString('ssh_host', { pattern: SSH_HOST_PATTERN, accepted: 'the host name or address a workstation reaches the machine by, e.g. dgx.lab.internal' }) || sshHost() || '';
  const user = readString('ssh_user', { pattern: SSH_USER_PATTERN, accepted: 'a login name on the machine, e.g. alice' });
  const namespace = readString('namespace', { pattern: NAMESPACE, accepted: 'a Kubernetes namespace name' });
  const deadline = deadlineIn(readActionTimeout({ min: 10, max: 6 * 3600 }));
  const spec: LocalServeSpec = { kubeconfig, name, namespace, runtime, model, ngcKey, purge, confirm, ssh: { host: host || 'MACHINE', user: host ? user : user || 'USER' }, deadline };
  return { spec, sshGiven: host !== '' };
}

/** Every input, read and checked once, before any request. */
function readInputs() {
  const verb = readEnum('verb', VERBS);
  const target = readEnum('target', TARGETS);
  const name = readString('name', { required: true, pattern: NAME_PATTERN, accepted: 'a name: lowercase letters, digits, hyphens, at most 40' });
  const local = readLocalInputs(verb, target, name);
  const modelUri = readString('model_uri');
  if (target === 'local') {
    if (modelUri) throw new InputError('model_uri', modelUri, 'model_uri (a promoted gs:// model, served by vLLM) applies to target: cloud; target: local serves local_model (an Ollama model name, or the NIM image as org/model:tag).');
    return { target, verb, local } as const;
  }
  if (verb === 'deploy' && !modelUri) throw new InputError('model_uri', '', 'deploy needs the promoted model\'s gs://bucket/prefix/ (model-promote\'s uri output).');
  const dest = modelUri ? parseGcsPrefix(modelUri) : undefined;
  if (modelUri && !dest?.prefix) throw new InputError('model_uri', modelUri, 'expected gs://bucket/prefix/ (model-promote\'s uri output).');
  const namespace = local.spec.namespace;
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
  return { target, verb, spec } as const;
}

/** target: local: the same verbs on the machine's minikube, through the local stack's Ollama or an NIM Deployment. */
async function mainLocal(verb: (typeof VERBS)[number], spec: LocalServeSpec, sshGiven: boolean): Promise<void> {
  const k = new Kubectl(spec.kubeconfig);
  const s = new Summary();
  if (verb === 'undeploy') {
    const r = await undeployLocal(k, spec);
    setOutput('endpoint', '');
    setOutput('model', '');
    setOutput('ready_replicas', 0);
    setOutput('hourly_cost', '');
    s.heading(`Local model serving removed: ${spec.name} (${spec.runtime})`).table(['', ''], [
      ['Removed', r.removed.join('<br>') || 'nothing: this serving was not deployed'],
      ['Kept', r.kept.join('<br>') || '—'],
      ['Runtime', spec.runtime === 'ollama' ? 'the local stack\'s Ollama, left as it is (local-stack-undeploy removes it)' : 'the local stack\'s own nim component, if any, is left as it is'],
    ]);
    s.write();
    return;
  }
  let r;
  try {
    r = verb === 'deploy' ? await deployLocal(k, spec) : await statusLocal(k, spec);
  } catch (err) {
    if (err instanceof Refusal) new Summary().heading('model-serve (local): refused').paragraph(err.table).write();
    throw err;
  }
  setOutput('endpoint', r.endpoint);
  setOutput('model', r.model);
  setOutput('ready_replicas', r.readyReplicas);
  setOutput('hourly_cost', r.hourlyCost);
  s.heading(`Local model serving${verb === 'status' ? ' status' : ''}: ${spec.name} (${spec.runtime}${r.node ? ` on ${r.node.name}, ${r.node.platform}` : ''})`).table(['', ''], [
    ['Model', r.model || 'not deployed'],
    ['Endpoint', r.endpoint || 'not deployed'],
    ['From a workstation', r.tunnel ? `\`${r.tunnel}\`, then ${r.localEndpoint}` : '—'],
    ['Ready replicas', String(r.readyReplicas)],
    ['Changed', r.changed.join('<br>') || 'nothing'],
    ['Cost', r.hourlyCost ? 'none per hour: the machine is your own' : '—'],
  ]);
  if (r.tunnel) {
    s.paragraph('From a workstation:').code(`${r.tunnel}\ncurl ${r.localEndpoint}/models`, 'sh');
    if (!sshGiven) s.paragraph(`\`${sshDestination(spec.ssh)}\` stands for the machine: set the inputs ssh_host and ssh_user (the workflows pass the repository variables MLABS_SSH_HOST and MLABS_SSH_USER).`);
  }
  s.write();
}

await runAction({
  async main() {
    const inputs = readInputs();
    if (inputs.target === 'local') return mainLocal(inputs.verb, inputs.local.spec, inputs.local.sshGiven);
    const { verb, spec } = inputs;
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
