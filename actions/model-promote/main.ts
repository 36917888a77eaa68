import { runAction } from '../lib/entry.js';
import { InputError } from '../lib/errors.js';
import { readProjectId } from '../lib/google/project.js';
import { readActionTimeout, readEnum, readInt, readList, readString } from '../lib/inputs.js';
import { setOutput } from '../lib/runner.js';
import { DATA_CLASSES, type DataClass } from '../lib/model/gate.js';
import { MlflowClient, trackingUri } from '../lib/model/mlflow.js';
import { parseGcsPrefix, parseModelUri, promote } from '../lib/model/promote.js';
import { writePromoteSummary } from '../lib/model/report.js';
import { S3Client, s3ConfigFromEnv } from '../lib/model/s3.js';

/** Every input, read and checked once, before any request. */
function readInputs() {
  const modelRaw = readString('model', { required: true, accepted: 'models:/NAME/VERSION, models:/NAME@alias or s3://bucket/prefix/' });
  const ref = parseModelUri(modelRaw);
  if (!ref) throw new InputError('model', modelRaw, 'expected models:/NAME/VERSION, models:/NAME@alias or s3://bucket/prefix/.');
  const destination = readString('destination');
  if (destination && !parseGcsPrefix(destination)?.prefix) throw new InputError('destination', destination, 'expected gs://bucket/prefix/ (a prefix inside a bucket, not the bucket root).');
  if (ref.kind === 's3' && !destination) throw new InputError('destination', '', 'an s3:// source has no model name and version to build the default from; give gs://bucket/prefix/.');
  const dataClass: DataClass | '' = readString('data_class') ? readEnum('data_class', DATA_CLASSES) : '';
  const allow = readList('allow', { item: /^[!-~]+$/, accepted: 'globs on artifact paths (printable ASCII, no spaces)' });
  const parallel = readInt('parallel', { min: 1, max: 16 });
  const chunkMib = readInt('chunk_mib', { min: 1, max: 64 });
  const project = readProjectId();
  const mlflowUri = readString('mlflow_tracking_uri', { pattern: /^https?:\/\/[!-~]+$/, accepted: 'an http(s) URL' });
  const s3Endpoint = readString('s3_endpoint', { pattern: /^https?:\/\/[!-~]+$/, accepted: 'an http(s) URL' });
  readActionTimeout({ min: 10, max: 24 * 3600 });
  return { ref, destination, dataClass, allow, parallel, chunkBytes: chunkMib * 1024 * 1024, project, mlflowUri, s3Endpoint };
}

await runAction({
  async main() {
    const i = readInputs();
    const s3 = new S3Client(s3ConfigFromEnv(i.s3Endpoint));
    const mlflow = i.ref.kind === 'registry' ? new MlflowClient(trackingUri(i.mlflowUri)) : undefined;
    const r = await promote({ ...i, s3, ...(mlflow ? { mlflow } : {}) });
    setOutput('uri', r.uri);
    setOutput('manifest_uri', r.manifestUri);
    setOutput('files', r.files.length);
    setOutput('bytes', r.bytes);
    setOutput('skipped', r.skipped);
    setOutput('seconds', r.seconds);
    writePromoteSummary(r);
  },
});
