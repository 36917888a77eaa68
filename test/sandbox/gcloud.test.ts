// Real gcloud against the sandbox: Google's own CLI cannot tell the difference.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, test } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';

function gcloudPresent(): boolean {
  try {
    execFileSync('gcloud', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let sb: Sandbox;
let config: string;
beforeAll(async () => {
  // CI has gcloud: its absence is a failure, not a skip.
  assert.ok(gcloudPresent(), 'gcloud is not on PATH: install the Google Cloud CLI (google-cloud-cli) to run the sandbox round-trips');
  sb = await startSandbox({ operationMs: 0, caller: 'admin' }); // the sandbox's own round-trips, as the project's owner (test/sandbox/iam.test.ts: as CI)
  config = mkdtempSync(join(tmpdir(), 'gcloud-config-'));
});
afterAll(async () => {
  await sb?.stop();
  if (config) rmSync(config, { recursive: true, force: true });
});

function gcloud(args: string[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    execFile(
      'gcloud',
      [...args, '--format=json'],
      { env: { ...process.env, ...sb.env, CLOUDSDK_CONFIG: config }, timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`gcloud ${args.join(' ')} failed: ${stderr}`));
        else resolve(JSON.parse(stdout || 'null'));
      },
    );
  });
}

type Json = Record<string, unknown>;

test('gcloud container node-pools create with an L4, then describe and list', async () => {
  await gcloud([
    'container', 'node-pools', 'create', 'gpu1',
    '--cluster', 'mlabs', '--location', 'us-central1', '--node-locations', 'us-central1-a',
    '--machine-type', 'g2-standard-8', '--accelerator', 'type=nvidia-l4,count=1', '--num-nodes', '1',
  ]);
  const np = (await gcloud(['container', 'node-pools', 'describe', 'gpu1', '--cluster', 'mlabs', '--location', 'us-central1'])) as Json;
  assert.equal(np.status, 'RUNNING');
  assert.deepEqual(np.locations, ['us-central1-a']);
  const cfg = np.config as Json;
  assert.equal(cfg.machineType, 'g2-standard-8');
  assert.deepEqual((cfg.accelerators as Json[]).map((a) => [a.acceleratorType, String(a.acceleratorCount)]), [['nvidia-l4', '1']]);
  const list = (await gcloud(['container', 'node-pools', 'list', '--cluster', 'mlabs', '--location', 'us-central1'])) as Json[];
  assert.deepEqual(list.map((p) => p.name).sort(), ['gpu1', 'system']);
  // gcloud went through the contract routes and polled the operation.
  const rpcs = sb.requests.map((r) => r.rpc);
  assert.ok(rpcs.includes('CreateNodePool') && rpcs.includes('GetOperation'), rpcs.join(','));
});

test('gcloud beta quotas info list reads Cloud Quotas v1beta', async () => {
  const infos = (await gcloud(['beta', 'quotas', 'info', 'list', '--service=compute.googleapis.com', `--project=${sb.project.projectId}`])) as Json[];
  const l4 = infos.find((q) => q.quotaId === 'NVIDIA-L4-GPUS-per-project-region') as Json;
  assert.ok(l4, 'L4 quota info listed');
  const central = (l4.dimensionsInfos as Json[]).find((d) => (d.dimensions as Json).region === 'us-central1') as Json;
  assert.equal(String((central.details as Json).value), '8');
  assert.ok(sb.requests.some((r) => r.path.startsWith('/cloudquotas/v1beta/projects/mlabs-demo/locations/global/services/compute.googleapis.com/quotaInfos')));
});

test('gcloud compute accelerator-types list and regions describe', async () => {
  const accs = (await gcloud(['compute', 'accelerator-types', 'list'])) as Json[];
  const zonesOf = (name: string): string[] => accs.filter((a) => a.name === name).map((a) => String(a.zone).split('/').pop() as string);
  assert.ok(zonesOf('nvidia-l4').includes('us-central1-a'));
  assert.ok(!zonesOf('nvidia-l4').includes('us-central1-f'));
  assert.ok(zonesOf('nvidia-h100-80gb').length > 0);
  const region = (await gcloud(['compute', 'regions', 'describe', 'us-central1'])) as Json;
  const q = (region.quotas as Json[]).find((x) => x.metric === 'NVIDIA_L4_GPUS') as Json;
  assert.equal(q.limit, 8);
  assert.equal(q.usage, 1, 'the gpu1 pool (1 node x 1 L4) counts as usage');
});
