// route-job through its bundle against the sandbox's GitHub REST module: private first, cloud burst when
// policy allows, wait or fail otherwise; inputs refused before any request; token errors; 429 retries.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, beforeEach, describe, test } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import type { GithubRestService, GithubSeed } from '../../scripts/sandbox/apis/github-rest.js';
import { runAction, type ActionRun } from '../harness.js';

let sb: Sandbox;
let gh: GithubRestService;
let TOKEN: string;
let WORKFLOW_TOKEN: string;

beforeAll(async () => {
  sb = await startSandbox({ operationMs: 50 });
  gh = sb.ctx.services.get('github-rest') as GithubRestService;
  const seed = sb.state.github as GithubSeed;
  TOKEN = seed.tokens[0]?.token as string;
  WORKFLOW_TOKEN = seed.tokens[1]?.token as string;
});
afterAll(async () => {
  await sb.stop();
});
beforeEach(() => {
  sb.faults.clear();
  gh.reset();
});

function run(inputs: Record<string, string | number | boolean>, env: Record<string, string> = {}): Promise<ActionRun> {
  return runAction('route-job', { inputs: { github_token: TOKEN, ...inputs }, env: { ...sb.env, MLABS_RETRY_BASE_MS: '1', ...env } });
}
const errorOf = (r: ActionRun): string => r.main.annotations.find((a) => a.level === 'error')?.message ?? '';
const ok = (r: ActionRun): void => assert.equal(r.exitCode, 0, `${errorOf(r)}\n${r.main.stdout}\n${r.main.stderr}`);
const githubCalls = (): number => sb.requests.filter((q) => q.path.startsWith('/github/')).length;
const queue = (label: string, n: number, minutesAgo = 0): void => {
  for (let i = 0; i < n; i++) gh.queueJob({ labels: ['self-hosted', label], createdAt: new Date(Date.now() - minutesAgo * 60000) });
};
type Verdict = { label: string; fits: boolean; online: boolean; busy: boolean; queued_jobs: number; oldest_queued_minutes: number; eligible: boolean; why: string };
const machinesOf = (r: ActionRun): Record<string, Verdict> =>
  Object.fromEntries((JSON.parse(r.outputs.machines ?? '[]') as Verdict[]).map((v) => [v.label, v]));

const A100x2 = { cloud_accelerator: 'nvidia-a100-80gb', cloud_gpus: 2 };

describe('route-job: private first', () => {
  test('a 100 GB fine-tune fits only on dgx: local, runs_on ["self-hosted","dgx"], summary table of every machine', async () => {
    const r = await run({ gpu_memory_gb: 100, data_class: 'internal' });
    ok(r);
    assert.equal(r.outputs.target, 'local');
    assert.equal(r.outputs.decision, 'local');
    assert.equal(r.outputs.runner_label, 'dgx');
    assert.deepEqual(JSON.parse(r.outputs.runs_on ?? ''), ['self-hosted', 'dgx']);
    assert.equal(r.outputs.estimated_hourly_usd, '0');
    assert.equal(r.outputs.cloud_accelerator, '');
    const m = machinesOf(r);
    assert.equal(m.wsl2?.fits, false);
    assert.match(m.wsl2?.why ?? '', /has 8 GB of GPU memory, the job needs 100 GB/);
    assert.match(m.agx?.why ?? '', /64 GB of GPU memory \(unified\)/);
    assert.equal(m.dgx?.eligible, true);
    assert.match(r.summary, /## Route: dgx \(local\)/);
    assert.match(r.summary, /\| dgx \| arm64 \| 128 GB unified \| yes \| mlabs-dgx \| yes \| no \| 0 \|/);
    assert.match(r.summary, /\| wsl2 \| amd64 \| 8 GB \| no \|/);
    assert.deepEqual(r.leaks(TOKEN), []);
  });

  test('a small job takes the smallest idle machine that holds it (wsl2), an arm64 one the smallest arm64 (agx)', async () => {
    const small = await run({ gpu_memory_gb: 6 });
    ok(small);
    assert.equal(small.outputs.runner_label, 'wsl2');
    const arm = await run({ gpu_memory_gb: 6, arch: 'arm64' });
    ok(arm);
    assert.equal(arm.outputs.runner_label, 'agx');
    assert.match(machinesOf(arm).wsl2?.why ?? '', /is amd64, the job needs arm64/);
  });

  test('dgx offline: a 40 GB arm64 job goes to agx; a 100 GB job bursts to the cloud when allowed', async () => {
    gh.setRunner('mlabs-dgx', { status: 'offline' });
    const agx = await run({ gpu_memory_gb: 40, arch: 'arm64', allow_cloud: true });
    ok(agx);
    assert.equal(agx.outputs.runner_label, 'agx');
    assert.match(machinesOf(agx).dgx?.why ?? '', /its runner mlabs-dgx is offline/);

    const burst = await run({ gpu_memory_gb: 100, allow_cloud: true, max_hourly_usd: 20, ...A100x2 });
    ok(burst);
    assert.equal(burst.outputs.target, 'cloud');
    assert.equal(burst.outputs.decision, 'cloud');
    assert.equal(burst.outputs.runner_label, '');
    assert.deepEqual(JSON.parse(burst.outputs.runs_on ?? ''), ['self-hosted', 'wsl2']);
    assert.equal(burst.outputs.cloud_accelerator, 'nvidia-a100-80gb');
    assert.equal(burst.outputs.cloud_gpus, '2');
    assert.equal(burst.outputs.estimated_hourly_usd, '10.14');
    assert.match(burst.outputs.reason ?? '', /Bursts to the cloud on 2 × nvidia-a100-80gb/);
    assert.match(burst.summary, /## Route: cloud burst \(2 × nvidia-a100-80gb\)/);
  });

  test('dgx offline and the job needs arm64 + 100 GB: GKE nodes are amd64, so it waits for dgx', async () => {
    gh.setRunner('mlabs-dgx', { status: 'offline' });
    const r = await run({ gpu_memory_gb: 100, arch: 'arm64', allow_cloud: true, max_hourly_usd: 50, ...A100x2 });
    ok(r);
    assert.equal(r.outputs.decision, 'wait');
    assert.equal(r.outputs.target, 'local');
    assert.equal(r.outputs.runner_label, 'dgx');
    assert.match(r.outputs.reason ?? '', /Waits for dgx \(offline now/);
    assert.match(r.outputs.reason ?? '', /GKE GPU nodes are amd64/);
  });

  test('dgx busy: a short queue keeps the job on dgx; a long one (count or age) bursts to the cloud', async () => {
    gh.setRunner('mlabs-dgx', { busy: true });
    queue('dgx', 1);
    const short = await run({ gpu_memory_gb: 100, allow_cloud: true, max_queued_jobs: 2, max_hourly_usd: 20, ...A100x2 });
    ok(short);
    assert.equal(short.outputs.runner_label, 'dgx');
    assert.equal(machinesOf(short).dgx?.busy, true);
    assert.equal(machinesOf(short).dgx?.queued_jobs, 1);

    queue('dgx', 2);
    const long = await run({ gpu_memory_gb: 100, allow_cloud: true, max_queued_jobs: 2, max_hourly_usd: 20, ...A100x2 });
    ok(long);
    assert.equal(long.outputs.target, 'cloud');
    assert.match(machinesOf(long).dgx?.why ?? '', /busy with a long queue: 3 queued jobs > max_queued_jobs 2/);

    gh.reset();
    gh.setRunner('mlabs-dgx', { busy: true });
    queue('dgx', 1, 90);
    const old = await run({ gpu_memory_gb: 100, allow_cloud: true, max_queue_minutes: 30, max_hourly_usd: 20, ...A100x2 });
    ok(old);
    assert.equal(old.outputs.target, 'cloud');
    assert.match(machinesOf(old).dgx?.why ?? '', /oldest queued job waited (89|90) min > max_queue_minutes 30/);
  });

  test("the route job's own run is not counted as competition (GITHUB_RUN_ID)", async () => {
    gh.setRunner('mlabs-dgx', { busy: true });
    const { run: mine } = gh.queueJob({ labels: ['self-hosted', 'dgx'], name: 'train-local' });
    queue('dgx', 2);
    gh.queueJob({ labels: ['self-hosted', 'dgx'], runId: mine.id, name: 'eval' });
    const r = await run({ gpu_memory_gb: 100, max_queued_jobs: 2 }, { GITHUB_RUN_ID: String(mine.id) });
    ok(r);
    assert.equal(machinesOf(r).dgx?.queued_jobs, 2);
    assert.equal(r.outputs.decision, 'local');
  });

  test('runners are read through every page (more than 100 registered)', async () => {
    for (let i = 0; i < 105; i++) gh.addRunner({ name: `spare-${i}`, labels: ['self-hosted', 'Linux', 'X64', 'spare'], status: 'offline' });
    gh.setRunner('mlabs-dgx', { status: 'offline' });
    gh.addRunner({ name: 'mlabs-dgx-2', labels: ['self-hosted', 'Linux', 'ARM64', 'dgx'] });
    const r = await run({ gpu_memory_gb: 100 });
    ok(r);
    assert.equal(r.outputs.runner_label, 'dgx');
    assert.ok(sb.requests.some((q) => q.rpc === 'runners.listForRepo' && q.query.page === '2'), 'followed the Link header to page 2');
  });

  test('the machines input replaces the table', async () => {
    const machines = JSON.stringify([
      { label: 'dgx', arch: 'arm64', gpu_memory_gb: 96, unified_memory: true },
      { label: 'wsl2', arch: 'amd64', gpu_memory_gb: 8 },
    ]);
    const r = await run({ gpu_memory_gb: 100, machines });
    assert.equal(r.exitCode, 1);
    assert.match(errorOf(r), /dgx does not fit: has 96 GB of GPU memory \(unified\), the job needs 100 GB/);
    assert.equal(machinesOf(r).agx, undefined);
  });
});

describe('route-job: policy refuses the cloud', () => {
  test('sensitive data never bursts: it waits for a busy dgx even with allow_cloud and budget', async () => {
    gh.setRunner('mlabs-dgx', { busy: true });
    queue('dgx', 5);
    const r = await run({ gpu_memory_gb: 100, data_class: 'sensitive', allow_cloud: true, max_hourly_usd: 100, ...A100x2 });
    ok(r);
    assert.equal(r.outputs.target, 'local');
    assert.equal(r.outputs.decision, 'wait');
    assert.equal(r.outputs.runner_label, 'dgx');
    assert.match(r.outputs.reason ?? '', /sensitive data never leaves the private machines/);
    assert.match(r.summary, /\| nvidia-a100-80gb \| 2 \| 160 GB \| 10\.14 \| no \| data_class is sensitive/);
  });

  test('sensitive data needing 200 GB: fails with every reason', async () => {
    const r = await run({ gpu_memory_gb: 200, data_class: 'sensitive', allow_cloud: true, max_hourly_usd: 100, ...A100x2 });
    assert.equal(r.exitCode, 1);
    const e = errorOf(r);
    assert.match(e, /Nothing can run this job under this policy/);
    assert.match(e, /dgx does not fit: has 128 GB of GPU memory \(unified\), the job needs 200 GB/);
    assert.match(e, /data_class is sensitive/);
    assert.match(e, /hold 160 GB of GPU memory, the job needs 200 GB/);
    assert.match(e, /Fix: /);
    assert.equal(r.outputs.target, undefined);
    assert.match(r.summary, /## Route: nothing fits/);
  });

  test('the cost cap refuses the cloud: waits, naming the estimate and max_hourly_usd', async () => {
    gh.setRunner('mlabs-dgx', { status: 'offline' });
    const r = await run({ gpu_memory_gb: 100, allow_cloud: true, max_hourly_usd: 5, ...A100x2 });
    ok(r);
    assert.equal(r.outputs.decision, 'wait');
    assert.match(r.outputs.reason ?? '', /estimated \$10\.14\/hour for 2 × nvidia-a100-80gb is over max_hourly_usd \$5\.00/);
  });

  test('allow_cloud false: a long queue on dgx means waiting, not bursting', async () => {
    gh.setRunner('mlabs-dgx', { busy: true });
    queue('dgx', 3);
    const r = await run({ gpu_memory_gb: 100, allow_cloud: false, max_hourly_usd: 100, ...A100x2 });
    ok(r);
    assert.equal(r.outputs.decision, 'wait');
    assert.match(r.outputs.reason ?? '', /allow_cloud is false/);
  });

  test('nothing fits: 200 GB without the cloud fails', async () => {
    const r = await run({ gpu_memory_gb: 200 });
    assert.equal(r.exitCode, 1);
    assert.match(errorOf(r), /Nothing can run this job under this policy.*allow_cloud is false/s);
  });
});

describe('route-job: inputs, token and transport', () => {
  const bad: [string, Record<string, string>, RegExp][] = [
    ['gpus', { gpus: 'two' }, /Input "gpus" is "two": expected a whole number from 0 to 64/],
    ['gpu_memory_gb', { gpu_memory_gb: '-4' }, /Input "gpu_memory_gb" is "-4"/],
    ['arch', { arch: 'riscv' }, /Input "arch" is "riscv": expected one of "any", "amd64", "arm64"/],
    ['data_class', { data_class: 'secret' }, /Input "data_class" is "secret": expected one of "public", "internal", "sensitive"/],
    ['cloud_accelerator', { cloud_accelerator: 'nvidia-rtx-9090' }, /Input "cloud_accelerator" is "nvidia-rtx-9090": expected one of nvidia-tesla-t4/],
    ['max_hourly_usd', { max_hourly_usd: 'lots' }, /Input "max_hourly_usd" is "lots"/],
    ['max_queued_jobs', { max_queued_jobs: '-1' }, /Input "max_queued_jobs" is "-1"/],
    ['allow_cloud', { allow_cloud: 'maybe' }, /Input "allow_cloud" is "maybe": expected true or false/],
    ['machines', { machines: '[{"label":"dgx","arch":"sparc","gpu_memory_gb":1}]' }, /Input "machines" .*"arch" must be amd64 or arm64/],
    ['machines', { machines: 'dgx=128' }, /Input "machines" is "dgx=128": expected a JSON array/],
    ['repository', { repository: 'platform' }, /Input "repository" is "platform": expected owner\/name/],
    ['github_token', { github_token: '' }, /Input "github_token" is empty: this secret is required/],
  ];
  for (const [name, inputs, expected] of bad) {
    test(`refuses a bad ${name} by name before any request`, async () => {
      const before = githubCalls();
      const r = await run(inputs);
      assert.equal(r.exitCode, 1);
      assert.match(errorOf(r), expected);
      assert.equal(githubCalls(), before, 'no GitHub request was made');
    });
  }

  test('a bad token: 401, naming github_token and the administration: read permission in the fix', async () => {
    const secret = 'github_pat_11NOTREAL0000000000000000000000000000000000';
    const r = await run({ github_token: secret });
    assert.equal(r.exitCode, 1);
    const e = errorOf(r);
    assert.match(e, /GitHub refused github_token while listing the self-hosted runners of mlabs\/platform: 401 Bad credentials/);
    assert.match(e, /Fix: .*administration: read/);
    assert.deepEqual(r.leaks(secret), []);
  });

  test('the workflow GITHUB_TOKEN cannot list runners: 403 with the fix (administration: read, a PAT or App token)', async () => {
    const r = await run({ github_token: WORKFLOW_TOKEN });
    assert.equal(r.exitCode, 1);
    const e = errorOf(r);
    assert.match(e, /github_token may not do this: listing the self-hosted runners of mlabs\/platform answered 403 Resource not accessible by integration/);
    assert.match(e, /administration: read/);
    assert.match(e, /GITHUB_TOKEN cannot be granted it|GITHUB_TOKEN cannot be given it/);
    assert.deepEqual(r.leaks(WORKFLOW_TOKEN), []);
  });

  test('a token without actions: read gets the actions: read fix when counting queued jobs', async () => {
    const t = gh.addToken({ permissions: { administration: 'read' } }).token;
    const r = await run({ github_token: t });
    assert.equal(r.exitCode, 1);
    assert.match(errorOf(r), /listing the queued workflow runs and jobs of mlabs\/platform answered 403.*actions: read/s);
  });

  test('an unknown repository: 404 naming the repository input', async () => {
    const r = await run({ repository: 'mlabs/nope' });
    assert.equal(r.exitCode, 1);
    assert.match(errorOf(r), /404 Not Found.*repository input \("mlabs\/nope"\)/s);
  });

  test('429 and 503 from GitHub are retried; the decision is still made', async () => {
    sb.faults.add({ kind: 'error', match: { api: 'github', method: 'runners.listForRepo' }, status: 429, count: 2 });
    sb.faults.add({ kind: 'error', match: { api: 'github', method: 'runs.listForRepo' }, status: 503, count: 1 });
    const r = await run({ gpu_memory_gb: 100 });
    ok(r);
    assert.equal(r.outputs.runner_label, 'dgx');
    const statuses = sb.requests.filter((q) => q.rpc === 'runners.listForRepo').slice(-3).map((q) => q.status);
    assert.deepEqual(statuses, [429, 429, 200]);
    assert.match(r.main.stdout, /answered 429/);
  });

  test('the primary rate limit (403, remaining 0) is explained, not retried', async () => {
    gh.setRemaining(TOKEN, 0);
    const r = await run({ gpu_memory_gb: 100 });
    assert.equal(r.exitCode, 1);
    assert.match(errorOf(r), /rate limit stopped listing the self-hosted runners/);
  });

  test('the token never appears in logs, summary or outputs, whatever the outcome', async () => {
    gh.setRunner('mlabs-dgx', { status: 'offline' });
    const runs = [await run({ gpu_memory_gb: 100, allow_cloud: true, max_hourly_usd: 20, ...A100x2 }), await run({ gpu_memory_gb: 500 })];
    for (const r of runs) {
      assert.deepEqual(r.leaks(TOKEN), []);
      assert.ok(r.main.masks.includes(TOKEN), 'registered as a secret');
    }
  });
});

describe('route-job: organisation runners', () => {
  const ORG_TOKEN = 'github_pat_11MLABSSANDBOX0org0runners0read00000000000000000000000000000';
  /** The repository's dgx runner offline, an online dgx runner registered on the organisation, and a token that may list both. */
  function orgSetUp(): void {
    const seed = sb.state.github as GithubSeed;
    for (const r of seed.runners) if (r.labels.some((l) => l.name === 'dgx')) r.status = 'offline';
    gh.addRunner({ name: 'org-dgx-1', labels: ['self-hosted', 'Linux', 'ARM64', 'dgx'], status: 'online', org: 'mlabs' });
    seed.tokens.push({ token: ORG_TOKEN, login: 'mlabs-router', permissions: { administration: 'read', actions: 'read', metadata: 'read', organization_self_hosted_runners: 'read' }, repositories: ['mlabs/platform'], organizations: ['mlabs'] });
  }

  test('an online organisation runner makes dgx available where the repository\'s own is offline', async () => {
    orgSetUp();
    const r = await run({ gpu_memory_gb: 100, data_class: 'internal', github_token: ORG_TOKEN });
    ok(r);
    assert.equal(machinesOf(r).dgx?.online, true);
    assert.equal(r.outputs.target, 'local');
    assert.equal(r.outputs.runner_label, 'dgx');
    assert.ok(sb.requests.some((q) => q.path === '/github/orgs/mlabs/actions/runners' && q.status === 200));
    assert.match(r.main.stdout, /repository and 1 organisation self-hosted runner/);
  });

  test('org_runners: off reads the repository\'s runners only', async () => {
    orgSetUp();
    const before = sb.requests.length;
    const r = await run({ gpu_memory_gb: 100, data_class: 'internal', github_token: ORG_TOKEN, org_runners: 'off' });
    ok(r);
    assert.equal(machinesOf(r).dgx?.online, false);
    assert.ok(!sb.requests.slice(before).some((q) => q.path.startsWith('/github/orgs/')));
  });

  test('auto with a token that may not list them: routes on the repository\'s runners and says why; required fails naming the permission', async () => {
    orgSetUp();
    const r = await run({ gpu_memory_gb: 100, data_class: 'internal' });
    ok(r);
    assert.equal(machinesOf(r).dgx?.online, false);
    assert.match(r.summary, /Organisation runners of mlabs not read: the token may not list them \(403 Resource not accessible by integration; it needs organization_self_hosted_runners: read on mlabs\)/);
    const req = await run({ gpu_memory_gb: 100, data_class: 'internal', org_runners: 'required' });
    assert.equal(req.exitCode, 1);
    assert.match(errorOf(req), /Listing the organisation runners of mlabs answered 403 Resource not accessible by integration/);
  });
});
