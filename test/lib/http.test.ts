import { test } from 'vitest';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError, listAll, requestJson } from '../../actions/lib/http.js';

process.env.MLABS_RETRY_BASE_MS = '1';

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) };
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
    assert.deepEqual(await requestJson(s.url + '/x'), { ok: true });
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
    await assert.rejects(requestJson(s.url + '/x', { method: 'POST', body: {} }), (e: unknown) => {
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
    await assert.rejects(requestJson(s.url + '/v1/token', { method: 'POST', body: {} }), { status: 'invalid_grant', message: /audience in ID Token/ });
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
    await assert.rejects(requestJson(s.url + '/x', { query: { access_token: 'secret-value' } }), (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.ok(!e.url.includes('secret-value'));
      return true;
    });
  } finally {
    await s.close();
  }
});
