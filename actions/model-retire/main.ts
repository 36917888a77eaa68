import { accessFromGke, accessFromKubeconfig } from '../lib/cleanup/kube.js';
import { runAction } from '../lib/entry.js';
import { InputError } from '../lib/errors.js';
import { readString } from '../lib/inputs.js';
import { MlflowClient, trackingUri } from '../lib/model/mlflow.js';
import { parseGcsPrefix, parseModelUri } from '../lib/model/promote.js';
import { retire } from '../lib/model/retire.js';
import { readCommon } from '../lib/nodepool/inputs.js';
import { setOutput } from '../lib/runner.js';
import { Summary } from '../lib/summary.js';

/** Every input, read and checked once, before any request. */
function readInputs() {
  const raw = readString('model', { required: true, accepted: 'models:/NAME/VERSION or models:/NAME@alias' });
  const ref = parseModelUri(raw);
  if (!ref || ref.kind !== 'registry') throw new InputError('model', raw, 'expected models:/NAME/VERSION or models:/NAME@alias.');
  const uri = readString('uri');
  if (uri && !parseGcsPrefix(uri)?.prefix) throw new InputError('uri', uri, 'expected gs://bucket/prefix/ (a prefix inside a bucket, not the bucket root).');
  const mlflowUri = readString('mlflow_tracking_uri', { pattern: /^https?:\/\/[!-~]+$/, accepted: 'an http(s) URL' });
  const kubeconfig = readString('kubeconfig');
  const { ref: cluster } = readCommon({ pool: false });
  return { ref, uri, mlflowUri, kubeconfig, cluster };
}

await runAction({
  async main() {
    const i = readInputs();
    const r = await retire({
      ref: i.ref,
      uri: i.uri,
      mlflow: new MlflowClient(trackingUri(i.mlflowUri)),
      kube: () => (i.kubeconfig ? accessFromKubeconfig(i.kubeconfig) : accessFromGke(i.cluster)),
      parallel: 8,
    });
    setOutput('uri', r.uri);
    setOutput('deleted', r.deleted);
    new Summary()
      .heading(`Model retired: ${r.model} version ${r.version}`)
      .table(
        ['', ''],
        [
          ['Prefix', r.uri || 'none: the version carries no mlabs.promoted tag (already retired or never promoted)'],
          ['Objects removed', `${r.deleted} (manifest.json first)`],
          ['MLflow tag', r.tagCleared ? 'mlabs.promoted cleared' : 'no mlabs.promoted tag to clear'],
          ['Serving check', `no Deployment in ${i.cluster.cluster} serves it`],
        ],
      )
      .paragraph('The model stays in the local MLflow registry and MinIO; promote it again to bring the copy back.')
      .write();
  },
});
