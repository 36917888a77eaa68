/**
 * `npm run demo`: the platform lifecycle, end to end, on the embedded sandbox.
 *
 * Every step runs an action's committed bundle exactly as the GitHub runner would
 * (test/harness.ts), in one emulated job: what a step exports reaches the next.
 * The sandbox stands in for Google Cloud and GitHub; nothing leaves this machine.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox, type Sandbox } from './sandbox/index.js';
import { kubernetesOf } from './sandbox/kubernetes/index.js';
import type { GithubRestService } from './sandbox/apis/github-rest.js';
import { runAction, runDeferredPost, type ActionRun, type RunOptions } from '../test/harness.js';

const PROJECT = 'mlabs-demo';
const LOCATION = 'us-central1';
const CLUSTER = 'mlabs';
const POOL = 'gpu-l4';
const BUCKET = 'mlabs-demo-nodepool-snapshots';
/** The sandbox's token with `administration: read`, as the MLABS_RUNNER_READ_TOKEN secret would be. */
const RUNNER_READ_TOKEN = 'github_pat_11MLABSSANDBOX0runners0read0write0000000000000000000000000000';
const PROVIDER = 'projects/123456789012/locations/global/workloadIdentityPools/github/providers/github-actions';
const SERVICE_ACCOUNT = 'mlabs-ci@mlabs-demo.iam.gserviceaccount.com';

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);

/** Markdown summary → terminal text: keep tables, drop HTML and heading marks. */
function readable(markdown: string): string {
  return markdown
    .replace(/<details><summary>(.*?)<\/summary>/g, '$1:')
    .replace(/<\/details>/g, '')
    .replace(/<br>/g, '; ')
    .replace(/^#+ (.*)$/gm, (_m, t: string) => bold(t))
    .replace(/\n{3,}/g, '\n\n')
    .trim()
    .split('\n')
    .map((l) => '    ' + l)
    .join('\n');
}

let stepNo = 0;
let failures = 0;

/** One job's runner: every step shares the workspace and RUNNER_TEMP, and sees what earlier steps exported. */
const jobDirs = { workspace: mkdtempSync(join(tmpdir(), 'mlabs-demo-ws-')), runnerTemp: mkdtempSync(join(tmpdir(), 'mlabs-demo-tmp-')) };

async function step(title: string, action: string, inputs: Record<string, string>, job: Record<string, string | undefined>, opts: RunOptions = {}): Promise<ActionRun> {
  stepNo++;
  console.log(`\n${bold(`${stepNo}. ${title}`)}  ${dim(`uses: mlabs/mlabs-actions/actions/${action}@v1`)}`);
  const run = await runAction(action, { inputs, env: job, ...jobDirs, ...opts });
  Object.assign(job, run.exportedEnv);
  if (run.summary.trim()) console.log(readable(run.summary));
  const errors = run.main.annotations.filter((a) => a.level === 'error').map((a) => a.message);
  const ok = run.exitCode === 0;
  if (!ok) failures++;
  console.log(`    ${ok ? 'ok' : 'failed'}${errors.length ? `: ${errors.join(' | ')}` : ''}`);
  return run;
}

/** What the cluster's own API says: real kubectl against the GKE cluster's Kubernetes endpoint. */
async function showNodes(kubeconfig: string, when: string): Promise<void> {
  const args = ['get', 'nodes', '-L', 'cloud.google.com/gke-nodepool,cloud.google.com/gke-accelerator', '--kubeconfig', kubeconfig];
  console.log(`\n${bold('kubectl get nodes')} ${dim(`(${when})`)}`);
  let text: string;
  try {
    // Asynchronous: the sandbox answering kubectl runs in this same process.
    text = (await promisify(execFile)('kubectl', args, { encoding: 'utf8' })).stdout.trim();
  } catch (err) {
    failures++;
    text = `kubectl failed: ${(err as Error).message}`;
  }
  console.log(text.split('\n').map((l) => '    ' + l).join('\n'));
}

async function main(): Promise<void> {
  console.log(bold('mlabs-actions: the platform lifecycle on the local sandbox'));
  const sb: Sandbox = await startSandbox({ port: 0, operationMs: 400 });
  console.log(dim(`sandbox ${sb.url}: project ${PROJECT}, cluster ${CLUSTER} in ${LOCATION}, bucket ${BUCKET}`));
  // The job: sandbox endpoints, but no ready-made token: every step authenticates
  // through the credentials file that wif-login writes, as on a real runner.
  const job: Record<string, string | undefined> = { ...sb.env, CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: undefined, MLABS_RETRY_BASE_MS: '50' };
  // Private first: the fine-tuning job would fit the DGX, but it is busy with a queue behind it,
  // and the Jetson is offline at the edge; policy allows a cloud burst for internal data.
  const github = sb.ctx.services.get('github-rest') as GithubRestService;
  github.setRunner('mlabs-dgx', { busy: true });
  github.setRunner('mlabs-agx', { status: 'offline' });
  for (let i = 0; i < 3; i++) github.queueJob({ labels: ['self-hosted', 'dgx'], name: `fine-tune-${i + 1}`, createdAt: new Date(Date.now() - (40 - i) * 60_000) });
  const route = await step(
    'Route a 20 GB fine-tuning job: private first, burst only if policy allows',
    'route-job',
    { gpu_memory_gb: '20', data_class: 'internal', allow_cloud: 'true', max_queued_jobs: '2', max_hourly_usd: '2', github_token: RUNNER_READ_TOKEN, repository: 'mlabs/platform' },
    job,
  );
  console.log(`    ${dim(`decision: ${route.outputs.decision} -> runs-on ${route.outputs.runs_on}`)}`);

  const loginInputs = { workload_identity_provider: PROVIDER, service_account: SERVICE_ACCOUNT };
  let login: ActionRun | undefined;
  try {
    // Its post step (which deletes the credentials file) runs at the end of the job, as on GitHub.
    login = await step('Keyless login (Workload Identity Federation)', 'wif-login', loginInputs, job, { post: false });
    if (login.exitCode !== 0) throw new Error('login failed; nothing else can run');

    const capacity = await step('Where are L4 GPUs offered, with quota headroom?', 'gpu-capacity', { accelerator_type: 'nvidia-l4', count: '1', regions: LOCATION }, job);
    const zones = capacity.outputs.zone_list || `${LOCATION}-a,${LOCATION}-b`;

    await step('Make sure quota allows 12 L4 GPUs in the region (files a request if short)', 'gpu-quota', { region: LOCATION, gpu_family: 'nvidia-l4', count: '12', contact_email: 'platform@example.com', wait: '60s', poll_interval: '1s' }, job);

    await step('Create the GPU pool', 'node-pool-expand', { location: LOCATION, cluster: CLUSTER, pool: POOL, accelerator_type: 'nvidia-l4', zones, node_count: '1' }, job);

    await step('Snapshot the pool to GCS', 'node-pool-snapshot', { location: LOCATION, cluster: CLUSTER, pool: POOL, bucket: BUCKET }, job);

    await step('Destroy the pool (it costs money every hour it exists)', 'node-pool-destroy', { location: LOCATION, cluster: CLUSTER, pool: POOL, bucket: BUCKET }, job);

    const kubeconfig = join(jobDirs.runnerTemp, 'mlabs.kubeconfig');
    writeFileSync(kubeconfig, kubernetesOf(sb).kubeconfig(CLUSTER), { mode: 0o600 });
    await showNodes(kubeconfig, 'the GPU pool is gone: only the system pool runs');

    const first = zones.split(',')[0] as string;
    sb.faults.add({ kind: 'stockout', zones: [first], count: 1 });
    console.log(dim(`\n   (the sandbox now has no L4 capacity in ${first}: the next create there fails with GCE_STOCKOUT)`));
    await step(`Restore it from the latest snapshot, failing over from ${first}`, 'node-pool-restore', { location: LOCATION, cluster: CLUSTER, pool: POOL, bucket: BUCKET, zones }, job);
    await showNodes(kubeconfig, 'after the restore: the GPU node is back, with its accelerator label');
    if (login) {
      const post = await runDeferredPost('wif-login', login, { inputs: loginInputs, ...jobDirs }, job);
      console.log(`\n${bold('Post: wif-login')}  ${post?.exitCode === 0 ? 'removed the credentials file' : 'failed'}`);
    }
  } finally {
    await sb.stop();
    rmSync(jobDirs.workspace, { recursive: true, force: true });
    rmSync(jobDirs.runnerTemp, { recursive: true, force: true });
  }
  console.log(`\n${failures === 0 ? bold('Lifecycle complete.') : bold(`${failures} step(s) did not do what was expected.`)}`);
  if (failures) process.exitCode = 1;
}

await main();
