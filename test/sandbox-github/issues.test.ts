// The sandbox's GitHub issues and issue comments with plain fetch: GitHub's shapes, the state and
// label filters, closing, 422 for a bad body, 403 without `issues: write`, 404 for an unknown issue.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, beforeEach, describe, test } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import type { GithubRestService, GithubSeed } from '../../scripts/sandbox/apis/github-rest.js';

let sb: Sandbox;
let gh: GithubRestService;
let WORKFLOW_TOKEN: string;
let RUNNERS_TOKEN: string;

beforeAll(async () => {
  sb = await startSandbox({ operationMs: 50 });
  gh = sb.ctx.services.get('github-rest') as GithubRestService;
  const seed = sb.state.github as GithubSeed;
  WORKFLOW_TOKEN = seed.tokens.find((t) => t.login === 'github-actions[bot]')?.token as string;
  RUNNERS_TOKEN = seed.tokens.find((t) => t.login !== 'github-actions[bot]')?.token as string;
});
afterAll(async () => {
  await sb.stop();
});
beforeEach(() => {
  gh.reset();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test reads of JSON answers
type Json = Record<string, any>;
async function api(path: string, opts: { method?: string; token?: string; body?: unknown; raw?: string } = {}) {
  const res = await fetch(`${sb.env.GITHUB_API_URL}/repos/mlabs/platform${path}`, {
    method: opts.method ?? 'GET',
    headers: {
      accept: 'application/vnd.github+json',
      authorization: `Bearer ${opts.token ?? WORKFLOW_TOKEN}`,
      ...(opts.body !== undefined || opts.raw !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(opts.raw !== undefined ? { body: opts.raw } : opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test reads of JSON answers
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : {}) as any };
}

describe('github-rest: issues', () => {
  test('create answers 201 with the issue in GitHub shape; list filters by state and every label, newest first', async () => {
    const a = await api('/issues', { method: 'POST', body: { title: 'cost-cleanup: week of 2026-11-30', body: 'report', labels: ['cost-cleanup'] } });
    assert.equal(a.status, 201, JSON.stringify(a.body));
    assert.equal(a.body.number, 1);
    assert.equal(a.body.state, 'open');
    assert.equal(a.body.user.login, 'github-actions[bot]');
    assert.deepEqual(a.body.labels.map((l: Json) => l.name), ['cost-cleanup']);
    assert.equal(a.body.html_url, 'https://github.com/mlabs/platform/issues/1');
    assert.equal(a.headers.get('location'), `${sb.env.GITHUB_API_URL}/repos/mlabs/platform/issues/1`);
    await api('/issues', { method: 'POST', body: { title: 'other', labels: [{ name: 'cost-cleanup' }, 'bug'] } });
    await api('/issues', { method: 'POST', body: { title: 'unlabelled' } });

    const labelled = await api('/issues?state=open&labels=cost-cleanup');
    assert.equal(labelled.status, 200);
    assert.deepEqual(labelled.body.map((i: Json) => i.number), [2, 1]);
    assert.deepEqual((await api('/issues?labels=cost-cleanup,bug')).body.map((i: Json) => i.title), ['other']);
    assert.equal((await api('/issues')).body.length, 3);
    const page = await api('/issues?per_page=1&direction=asc');
    assert.deepEqual(page.body.map((i: Json) => i.number), [1]);
    assert.match(page.headers.get('link') ?? '', /page=2>; rel="next"/);
  });

  test('update changes the body and closes; a closed issue leaves the open list and is in state=closed', async () => {
    await api('/issues', { method: 'POST', body: { title: 't', labels: ['x'] } });
    const body = await api('/issues/1', { method: 'PATCH', body: { body: 'new text' } });
    assert.equal(body.status, 200);
    assert.equal(body.body.body, 'new text');
    const closed = await api('/issues/1', { method: 'PATCH', body: { state: 'closed' } });
    assert.equal(closed.body.state, 'closed');
    assert.equal(closed.body.state_reason, 'completed');
    assert.ok(closed.body.closed_at);
    assert.deepEqual((await api('/issues?labels=x')).body, []);
    assert.deepEqual((await api('/issues?state=closed')).body.map((i: Json) => i.number), [1]);
    assert.equal(gh.issues()[0]?.state, 'closed');
  });

  test('comments: create answers 201, list returns them oldest first, the issue counts them', async () => {
    await api('/issues', { method: 'POST', body: { title: 't' } });
    const c = await api('/issues/1/comments', { method: 'POST', body: { body: 'first' } });
    assert.equal(c.status, 201);
    assert.equal(c.body.body, 'first');
    assert.match(c.body.html_url, /\/issues\/1#issuecomment-\d+$/);
    await api('/issues/1/comments', { method: 'POST', body: { body: 'second' } });
    assert.deepEqual((await api('/issues/1/comments')).body.map((x: Json) => x.body), ['first', 'second']);
    assert.equal((await api('/issues/1')).body.comments, 2);
    assert.deepEqual(gh.comments(1).map((x) => x.body), ['first', 'second']);
  });

  test("GitHub's errors: 422 without a title or with a bad state, 400 for broken JSON, 404 for an unknown issue, 403 without issues permission", async () => {
    const none = await api('/issues', { method: 'POST', body: { body: 'x' } });
    assert.equal(none.status, 422);
    assert.match(none.body.message, /"title" wasn't supplied/);
    assert.equal((await api('/issues', { method: 'POST', raw: '{nope' })).status, 400);
    await api('/issues', { method: 'POST', body: { title: 't' } });
    const bad = await api('/issues/1', { method: 'PATCH', body: { state: 'done' } });
    assert.equal(bad.status, 422);
    assert.match(bad.body.message, /properties\/state/);
    assert.equal((await api('/issues/9')).status, 404);
    assert.equal((await api('/issues/9/comments', { method: 'POST', body: { body: 'x' } })).status, 404);
    const denied = await api('/issues', { method: 'POST', token: RUNNERS_TOKEN, body: { title: 't' } });
    assert.equal(denied.status, 403);
    assert.equal(denied.headers.get('x-accepted-github-permissions'), 'issues=write');
    assert.equal(gh.issues().length, 1, 'nothing was created by the refused calls');
  });
});
