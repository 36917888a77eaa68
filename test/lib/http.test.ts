import { test } from 'vitest';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError, attemptBudget, listAll, request, requestJson, setDeadline } from '../../actions/lib/http.js';

/** Retries with millisecond pauses, so the tests don't wait out the production backoff. */
const FAST = { attempts: 6, baseMs: 1, capMs: 5 };

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)), closeAll: () => server.closeAllConnections() };
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

test('429 and 503 are retried until success', async () => {
  let calls = 0;
  const s = await serve((_req, res) => {
    calls++;
    if (calls === 1) return json(res, 429, { error: { code: 429, message: 'slow down', status: 'RESOURCE_EXHAUSTED' } });
    if (calls === 2) return json(res, 503, { error: { code: 503, message: 'try later', status: 'UNAVAILABLE' } });
    json(res, 200, { ok: true });
  });
  try {
    assert.deepEqual(await requestJson(s.url + '/x', { retry: FAST }), { ok: true });
    assert.equal(calls, 3);
  } finally {
    await s.close();
  }
});

test('a 4xx other than 429 is not retried and carries Google status and ErrorInfo reason', async () => {
  let calls = 0;
  const s = await serve((_req, res) => {
    calls++;
    json(res, 400, {
      error: {
        code: 400,
        message: 'Cluster is running incompatible operation operation-1.',
        status: 'FAILED_PRECONDITION',
        details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'CLUSTER_ALREADY_HAS_OPERATION' }],
      },
    });
  });
  try {
    await assert.rejects(requestJson(s.url + '/x', { method: 'POST', body: {}, retry: FAST }), (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.httpStatus, 400);
      assert.equal(e.status, 'FAILED_PRECONDITION');
      assert.equal(e.reason, 'CLUSTER_ALREADY_HAS_OPERATION');
      return true;
    });
    assert.equal(calls, 1);
  } finally {
    await s.close();
  }
});

test('the OAuth error shape (STS) is understood', async () => {
  const s = await serve((_req, res) => json(res, 400, { error: 'invalid_grant', error_description: 'The audience in ID Token [x] does not match the expected audience.' }));
  try {
    await assert.rejects(requestJson(s.url + '/v1/token', { method: 'POST', body: {}, retry: FAST }), { status: 'invalid_grant', message: /audience in ID Token/ });
  } finally {
    await s.close();
  }
});

test('retries give up after the configured attempts with the last error', async () => {
  let calls = 0;
  const s = await serve((_req, res) => {
    calls++;
    json(res, 503, { error: { code: 503, message: 'down', status: 'UNAVAILABLE' } });
  });
  try {
    await assert.rejects(requestJson(s.url, { retry: { attempts: 3, baseMs: 1, capMs: 2 } }), { status: 'UNAVAILABLE' });
    assert.equal(calls, 3);
  } finally {
    await s.close();
  }
});

test('listAll follows nextPageToken', async () => {
  const s = await serve((req, res) => {
    const token = new URL(req.url ?? '/', 'http://x').searchParams.get('pageToken');
    if (!token) return json(res, 200, { items: [1, 2], nextPageToken: 'p2' });
    json(res, 200, { items: [3] });
  });
  try {
    assert.deepEqual(await listAll<number>(s.url, 'items'), [1, 2, 3]);
  } finally {
    await s.close();
  }
});

test('tokens in the query string never reach the logged URL of an error', async () => {
  const s = await serve((_req, res) => json(res, 404, { error: { code: 404, message: 'nope', status: 'NOT_FOUND' } }));
  try {
    await assert.rejects(requestJson(s.url + '/x', { query: { access_token: 'secret-value' }, retry: FAST }), (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.ok(!e.url.includes('secret-value'));
      return true;
    });
  } finally {
    await s.close();
  }
});

test('a POST that may have landed (503) is not sent again; a throttled one (429) is', async () => {
  let calls = 0;
  const s = await serve((_req, res) => {
    calls++;
    json(res, 503, { error: { code: 503, message: 'backend error', status: 'UNAVAILABLE' } });
  });
  try {
    await assert.rejects(requestJson(s.url + '/create', { method: 'POST', body: {}, retry: FAST }), { httpStatus: 503 });
    assert.equal(calls, 1, 'a create answered 503 may have landed: it is not repeated');
    calls = 0;
    await assert.rejects(requestJson(s.url + '/read', { method: 'POST', body: {}, retry: FAST, idempotent: true }), { httpStatus: 503 });
    assert.equal(calls, FAST.attempts, 'a POST marked idempotent is retried like a GET');
  } finally {
    await s.close();
  }
  let throttled = 0;
  const t = await serve((_req, res) => {
    throttled++;
    if (throttled === 1) return json(res, 429, { error: { code: 429, message: 'slow down', status: 'RESOURCE_EXHAUSTED' } });
    json(res, 200, { created: true });
  });
  try {
    assert.deepEqual(await requestJson(t.url + '/create', { method: 'POST', body: {}, retry: FAST }), { created: true });
    assert.equal(throttled, 2);
  } finally {
    await t.close();
  }
});

test('a create retried after 429 that meets 409 adopts what landed, read back', async () => {
  const seen: string[] = [];
  const s = await serve((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.method === 'GET') return json(res, 200, { name: 'pref-1', state: 'read back' });
    if (seen.length === 1) return json(res, 429, { error: { code: 429, message: 'slow down', status: 'RESOURCE_EXHAUSTED' } });
    json(res, 409, { error: { code: 409, message: 'already exists', status: 'ALREADY_EXISTS' } });
  });
  try {
    const got = await requestJson(s.url + '/prefs', { method: 'POST', body: {}, retry: FAST, adoptOnConflict: () => request(s.url + '/prefs/pref-1', { retry: FAST }) });
    assert.deepEqual(got, { name: 'pref-1', state: 'read back' });
    assert.deepEqual(seen, ['POST /prefs', 'POST /prefs', 'GET /prefs/pref-1']);
    // A 409 on the first attempt is a real conflict, not adopted.
    seen.length = 1;
    await assert.rejects(requestJson(s.url + '/prefs', { method: 'POST', body: {}, retry: false, adoptOnConflict: () => request(s.url + '/prefs/pref-1') }), { httpStatus: 409 });
  } finally {
    await s.close();
  }
});

test('a server that never answers is given up on after the attempt timeout, not waited on forever', async () => {
  let calls = 0;
  const s = await serve(() => {
    calls++; // never answers
  });
  try {
    await assert.rejects(requestJson(s.url + '/hang', { retry: { attempts: 2, baseMs: 1, capMs: 2 }, timeoutMs: 150 }), (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.status, 'DEADLINE_EXCEEDED');
      assert.match(e.message, /GET .*\/hang failed: no answer within/);
      return true;
    });
    assert.equal(calls, 2, 'a read that timed out is tried again');
  } finally {
    s.closeAll();
    await s.close();
  }
});

test("the action's deadline bounds every attempt, and nothing is sent once it has passed", async () => {
  let calls = 0;
  const s = await serve((_req, res) => {
    calls++;
    json(res, 200, {});
  });
  try {
    setDeadline(Date.now() + 200);
    assert.ok(attemptBudget(60_000) <= 200, 'an attempt may not outlast the deadline');
    setDeadline(Date.now() - 1);
    await assert.rejects(requestJson(s.url + '/late', { retry: FAST }), { status: 'DEADLINE_EXCEEDED', message: /was not sent: the action's timeout has run out/ });
    assert.equal(calls, 0);
  } finally {
    setDeadline(undefined);
    await s.close();
  }
});

test('a connection refused is retried even for a POST: nothing reached a server', async () => {
  const s = await serve(() => undefined);
  const url = s.url;
  await s.close();
  const warnings: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    if (String(chunk).startsWith('::warning::')) warnings.push(String(chunk));
    return write(chunk, ...rest);
  }) as typeof process.stdout.write;
  try {
    await assert.rejects(requestJson(url + '/create', { method: 'POST', body: {}, retry: { attempts: 3, baseMs: 1, capMs: 2 } }), { status: 'NETWORK', message: /ECONNREFUSED/ });
  } finally {
    process.stdout.write = write;
  }
  assert.equal(warnings.length, 2, 'two retries after the first refusal');
});

test("a status the caller reads itself (a registry's 401 challenge) is answered as the Response; otherwise it is an ApiError", async () => {
  let calls = 0;
  const s = await serve((_req, res) => {
    calls++;
    if (calls === 1) {
      res.writeHead(503);
      return res.end();
    }
    res.writeHead(401, { 'www-authenticate': 'Bearer realm="http://127.0.0.1/token",service="registry"' });
    res.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
  });
  try {
    const res = await request(s.url + '/v2/', { retry: FAST, answers: [401] });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm=/);
    assert.equal(calls, 2, 'the 503 before it was retried like any other request');
    await assert.rejects(request(s.url + '/v2/', { retry: FAST }), (e: unknown) => e instanceof ApiError && e.httpStatus === 401);
  } finally {
    await s.close();
  }
});
