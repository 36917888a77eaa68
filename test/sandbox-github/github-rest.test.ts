// The sandbox's GitHub REST subset (self-hosted runners, queued runs and jobs) with plain fetch:
// GitHub's shapes, pagination with Link headers, auth/permission/404 errors, rate limits and faults.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, beforeEach, describe, test } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import type { GithubRestService, GithubSeed } from '../../scripts/sandbox/apis/github-rest.js';

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

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test reads of JSON answers
type Json = Record<string, any>;
async function api(path: string, opts: { method?: string; token?: string | null; scheme?: string; body?: unknown } = {}) {
  const token = opts.token === undefined ? TOKEN : opts.token;
  const res = await fetch(`${sb.env.GITHUB_API_URL}${path}`, {
    method: opts.method ?? 'GET',
    headers: {
      accept: 'application/vnd.github+json',
      ...(token ? { authorization: `${opts.scheme ?? 'Bearer'} ${token}` } : {}),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : {}) as Json };
}

const RUNNERS = '/repos/mlabs/platform/actions/runners';

describe('github-rest: self-hosted runners', () => {
  test('the seed lists the three machines online and idle, with read-only and custom labels', async () => {
    const r = await api(RUNNERS);
    assert.equal(r.status, 200);
    assert.equal(r.body.total_count, 3);
    const byName = Object.fromEntries(r.body.runners.map((x: Json) => [x.name, x]));
    assert.deepEqual(Object.keys(byName).sort(), ['mlabs-agx', 'mlabs-dgx', 'mlabs-wsl2']);
    const dgx = byName['mlabs-dgx'];
    assert.deepEqual(Object.keys(dgx).sort(), ['busy', 'ephemeral', 'id', 'labels', 'name', 'os', 'runner_group_id', 'status']);
    assert.equal(dgx.status, 'online');
    assert.equal(dgx.busy, false);
    assert.deepEqual(dgx.labels.map((l: Json) => `${l.name}:${l.type}`), ['self-hosted:read-only', 'Linux:read-only', 'ARM64:read-only', 'dgx:custom']);
    assert.ok(dgx.labels.every((l: Json) => typeof l.id === 'number'));
    assert.deepEqual(byName['mlabs-wsl2'].labels.map((l: Json) => l.name), ['self-hosted', 'Linux', 'X64', 'wsl2']);
    assert.ok(r.headers.get('x-ratelimit-remaining'));
    assert.equal(r.headers.get('x-ratelimit-resource'), 'core');
  });

  test('`token` scheme works as well as Bearer; the runtime API changes status and busy', async () => {
    gh.setRunner('mlabs-dgx', { status: 'offline' });
    gh.setRunner('mlabs-agx', { busy: true });
    const r = await api(RUNNERS, { scheme: 'token' });
    assert.equal(r.status, 200);
    const byName = Object.fromEntries(r.body.runners.map((x: Json) => [x.name, x]));
    assert.equal(byName['mlabs-dgx'].status, 'offline');
    assert.equal(byName['mlabs-agx'].busy, true);
  });

  test('pagination: per_page/page with a Link header (next, last, prev, first)', async () => {
    const p1 = await api(`${RUNNERS}?per_page=2`);
    assert.equal(p1.body.total_count, 3);
    assert.equal(p1.body.runners.length, 2);
    const link = p1.headers.get('link') ?? '';
    assert.match(link, /<http:\/\/127\.0\.0\.1:\d+\/github\/repos\/mlabs\/platform\/actions\/runners\?per_page=2&page=2>; rel="next"/);
    assert.match(link, /page=2>; rel="last"/);
    const next = /<([^>]+)>; rel="next"/.exec(link)?.[1] as string;
    const p2res = await fetch(next, { headers: { authorization: `Bearer ${TOKEN}` } });
    const p2 = (await p2res.json()) as Json;
    assert.equal(p2.runners.length, 1);
    const link2 = p2res.headers.get('link') ?? '';
    assert.match(link2, /page=1>; rel="prev"/);
    assert.match(link2, /page=1>; rel="first"/);
    assert.doesNotMatch(link2, /rel="next"/);
    const all = [...p1.body.runners, ...p2.runners].map((x: Json) => x.name).sort();
    assert.deepEqual(all, ['mlabs-agx', 'mlabs-dgx', 'mlabs-wsl2']);
    const single = await api(RUNNERS);
    assert.equal(single.headers.get('link'), null, 'one page: no Link header');
  });

  test('org runners: a token with organization_self_hosted_runners lists the org-level ones only', async () => {
    gh.addRunner({ name: 'mlabs-org-runner', labels: ['self-hosted', 'Linux', 'X64', 'shared'], org: 'mlabs' });
    const denied = await api('/orgs/mlabs/actions/runners');
    assert.equal(denied.status, 403);
    assert.equal(denied.headers.get('x-accepted-github-permissions'), 'organization_self_hosted_runners=read');
    const orgToken = gh.addToken({ permissions: { organization_self_hosted_runners: 'read' }, organizations: ['mlabs'], repositories: [] }).token;
    const r = await api('/orgs/mlabs/actions/runners', { token: orgToken });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.runners.map((x: Json) => x.name), ['mlabs-org-runner']);
    assert.equal((await api('/orgs/nobody/actions/runners', { token: orgToken })).status, 404);
  });

  test('generate-jitconfig registers an ephemeral runner (201 {runner, encoded_jit_config}); DELETE removes it', async () => {
    const r = await api(`${RUNNERS}/generate-jitconfig`, {
      method: 'POST',
      body: { name: 'burst-l4-1', runner_group_id: 1, labels: ['gke', 'nvidia-l4'], work_folder: '_work' },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.runner.name, 'burst-l4-1');
    assert.equal(r.body.runner.status, 'offline');
    assert.deepEqual(r.body.runner.labels.map((l: Json) => `${l.name}:${l.type}`), ['self-hosted:read-only', 'gke:custom', 'nvidia-l4:custom']);
    const jit = JSON.parse(Buffer.from(r.body.encoded_jit_config, 'base64').toString('utf8')) as Json;
    assert.ok(jit['.runner'] && jit['.credentials']);
    assert.equal((await api(RUNNERS)).body.total_count, 4);

    const twice = await api(`${RUNNERS}/generate-jitconfig`, { method: 'POST', body: { name: 'burst-l4-1', runner_group_id: 1, labels: ['gke'] } });
    assert.equal(twice.status, 409);
    const missing = await api(`${RUNNERS}/generate-jitconfig`, { method: 'POST', body: { name: 'x', labels: ['gke'] } });
    assert.equal(missing.status, 422);
    assert.match(missing.body.message, /"runner_group_id" wasn't supplied/);

    const del = await api(`${RUNNERS}/${r.body.runner.id}`, { method: 'DELETE' });
    assert.equal(del.status, 204);
    assert.equal((await api(`${RUNNERS}/${r.body.runner.id}`, { method: 'DELETE' })).status, 404);
    assert.equal((await api(RUNNERS)).body.total_count, 3);
  });

  test('a busy runner cannot be deleted (422); writes need administration: write', async () => {
    gh.setRunner('mlabs-dgx', { busy: true });
    const id = gh.runner('mlabs-dgx')?.id;
    const busy = await api(`${RUNNERS}/${id}`, { method: 'DELETE' });
    assert.equal(busy.status, 422);
    assert.match(busy.body.message, /still running a job/);
    const readOnly = gh.addToken({ permissions: { administration: 'read' } }).token;
    const w = await api(`${RUNNERS}/generate-jitconfig`, { method: 'POST', token: readOnly, body: { name: 'n', runner_group_id: 1, labels: ['a'] } });
    assert.equal(w.status, 403);
    assert.equal(w.headers.get('x-accepted-github-permissions'), 'administration=write');
  });
});

describe('github-rest: queued runs and jobs', () => {
  test('queued runs, and jobs with status, labels and runner_name', async () => {
    const { run, job } = gh.queueJob({ labels: ['self-hosted', 'dgx'], name: 'train-local' });
    gh.queueJob({ labels: ['self-hosted', 'dgx'], name: 'eval', runId: run.id });
    const other = gh.queueJob({ labels: ['self-hosted', 'agx'] });
    gh.startJob(other.job.id, 'mlabs-agx');

    const queued = await api('/repos/mlabs/platform/actions/runs?status=queued');
    assert.equal(queued.status, 200);
    assert.equal(queued.body.total_count, 1);
    const wr = queued.body.workflow_runs[0];
    assert.equal(wr.id, run.id);
    assert.equal(wr.status, 'queued');
    assert.match(wr.jobs_url, new RegExp(`/github/repos/mlabs/platform/actions/runs/${run.id}/jobs$`));

    const jobs = await api(`/repos/mlabs/platform/actions/runs/${run.id}/jobs`);
    assert.equal(jobs.body.total_count, 2);
    const j = jobs.body.jobs[0];
    assert.equal(j.id, job.id);
    assert.equal(j.status, 'queued');
    assert.deepEqual(j.labels, ['self-hosted', 'dgx']);
    assert.equal(j.runner_name, null);

    const inProgress = await api('/repos/mlabs/platform/actions/runs?status=in_progress');
    assert.equal(inProgress.body.total_count, 1);
    const started = await api(`/repos/mlabs/platform/actions/runs/${other.run.id}/jobs`);
    assert.equal(started.body.jobs[0].status, 'in_progress');
    assert.equal(started.body.jobs[0].runner_name, 'mlabs-agx');
    assert.equal(gh.runner('mlabs-agx')?.busy, true);

    assert.equal((await api('/repos/mlabs/platform/actions/runs/999999/jobs')).status, 404);
  });

  test('runs paginate newest first', async () => {
    for (let i = 0; i < 5; i++) gh.queueJob({ labels: ['self-hosted', 'wsl2'] });
    const p = await api('/repos/mlabs/platform/actions/runs?status=queued&per_page=2&page=3');
    assert.equal(p.body.total_count, 5);
    assert.equal(p.body.workflow_runs.length, 1);
    assert.match(p.headers.get('link') ?? '', /status=queued&per_page=2&page=2>; rel="prev"/);
  });

  test('the workflow token (actions: read) reads runs but not runners: 403 naming administration=read', async () => {
    assert.equal((await api('/repos/mlabs/platform/actions/runs', { token: WORKFLOW_TOKEN })).status, 200);
    const r = await api(RUNNERS, { token: WORKFLOW_TOKEN });
    assert.equal(r.status, 403);
    assert.equal(r.body.message, 'Resource not accessible by integration');
    assert.match(r.body.documentation_url, /^https:\/\/docs\.github\.com\/rest\/actions\/self-hosted-runners/);
    assert.equal(r.headers.get('x-accepted-github-permissions'), 'administration=read');
  });
});

describe('github-rest: errors as GitHub sends them', () => {
  test('401 Bad credentials for an unknown token, Requires authentication without one', async () => {
    const bad = await api(RUNNERS, { token: 'ghp_notavalidtoken' });
    assert.equal(bad.status, 401);
    assert.equal(bad.body.message, 'Bad credentials');
    assert.equal(bad.body.documentation_url, 'https://docs.github.com/rest');
    const none = await api(RUNNERS, { token: null });
    assert.equal(none.status, 401);
    assert.equal(none.body.message, 'Requires authentication');
    const google = await api(RUNNERS, { token: sb.accessToken });
    assert.equal(google.status, 401, 'a Google sandbox token is not a GitHub token');
  });

  test('404 Not Found for an unknown repository, or one the token cannot see', async () => {
    const r = await api('/repos/mlabs/nope/actions/runners');
    assert.equal(r.status, 404);
    assert.equal(r.body.message, 'Not Found');
    const other = gh.addToken({ permissions: { administration: 'read' }, repositories: ['mlabs/other'] }).token;
    assert.equal((await api(RUNNERS, { token: other })).status, 404);
  });

  test('primary rate limit: 403 with x-ratelimit-remaining 0 once the budget is spent', async () => {
    gh.setRemaining(TOKEN, 1);
    const last = await api(RUNNERS);
    assert.equal(last.status, 200);
    assert.equal(last.headers.get('x-ratelimit-remaining'), '0');
    const r = await api(RUNNERS);
    assert.equal(r.status, 403);
    assert.match(r.body.message, /API rate limit exceeded/);
    assert.equal(r.headers.get('x-ratelimit-remaining'), '0');
  });

  test("the core's error faults answer in GitHub's shape: 429 secondary rate limit, 403, 503; count is honoured", async () => {
    sb.faults.add({ kind: 'error', match: { api: 'github', method: 'runners.listForRepo' }, status: 429, count: 1 });
    const r = await api(RUNNERS);
    assert.equal(r.status, 429);
    assert.match(r.body.message, /secondary rate limit/);
    assert.equal(r.body.error, undefined, 'not the Google error shape');
    assert.equal((await api(RUNNERS)).status, 200, 'count: 1 spent');

    sb.faults.add({ kind: 'error', match: { api: 'github' }, status: 403, count: 1 });
    const limited = await api('/repos/mlabs/platform/actions/runs');
    assert.equal(limited.status, 403);
    assert.equal(limited.headers.get('x-ratelimit-remaining'), '0');

    sb.faults.add({ kind: 'error', match: { api: 'github' }, status: 503, count: 1 });
    assert.equal((await api(RUNNERS)).status, 503);
    assert.equal((await api(RUNNERS)).status, 200);
    const logged = sb.requests.filter((q) => q.api === 'github').map((q) => q.status);
    assert.deepEqual(logged.slice(-5), [429, 200, 403, 503, 200], 'the request log records what the client got');
  });

  test('Google faults keep their own shape (the GitHub rules do not leak into other APIs)', async () => {
    sb.faults.add({ kind: 'error', match: { api: 'container' }, status: 429, count: 1 });
    const res = await fetch(`${sb.url}/container/v1/projects/mlabs-demo/locations/us-central1/clusters`, { headers: { authorization: `Bearer ${sb.accessToken}` } });
    assert.equal(res.status, 429);
    assert.equal(((await res.json()) as Json).error.status, 'RESOURCE_EXHAUSTED');
  });

  test('the request log records GitHub calls with their route names', async () => {
    await api(RUNNERS);
    const last = sb.requests.at(-1);
    assert.equal(last?.api, 'github');
    assert.equal(last?.rpc, 'runners.listForRepo');
    assert.equal(last?.path, '/github/repos/mlabs/platform/actions/runners');
  });
});
