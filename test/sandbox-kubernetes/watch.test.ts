// The watch protocol of the sandbox API server, spoken over raw HTTPS: what client-go's reflector
// (kubectl wait, kubectl rollout status) relies on.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import { kubernetesOf, type ClusterHandle } from '../../scripts/sandbox/kubernetes/index.js';

interface WatchLine {
  type: string;
  object: { kind?: string; code?: number; reason?: string; metadata: { name?: string; resourceVersion?: string } };
}

describe('sandbox Kubernetes watch streams', () => {
  let sb: Sandbox;
  let dgx: ClusterHandle;
  let token: string;
  let ca: string;
  beforeAll(async () => {
    sb = await startSandbox({ port: 0, operationMs: 100 });
    const kube = kubernetesOf(sb);
    dgx = await kube.startCluster('dgx');
    token = /token: (\S+)/.exec(kube.kubeconfig('dgx'))?.[1] ?? '';
    ca = kube.caPem;
  });
  afterAll(async () => sb?.stop());

  const call = (method: string, path: string, body?: unknown): Promise<{ res: IncomingMessage; lines: () => Promise<WatchLine[]>; text: () => Promise<string> }> =>
    new Promise((resolve, reject) => {
      const req = request(`${dgx.server}${path}`, { method, ca, headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) } }, (res) => {
        const chunks: Buffer[] = [];
        const done = new Promise<string>((r) => {
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => r(Buffer.concat(chunks).toString('utf8')));
        });
        resolve({ res, text: () => done, lines: async () => (await done).split('\n').filter(Boolean).map((l) => JSON.parse(l) as WatchLine) });
      });
      req.on('error', reject);
      req.end(body ? JSON.stringify(body) : undefined);
    });
  const configMap = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { a: '1' } });
  const listRv = async (): Promise<string> => (JSON.parse(await (await call('GET', '/api/v1/namespaces/default/configmaps')).text()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;

  it('answers with headers before there is any event, then streams the events that match the field selector', async () => {
    const rv = await listRv();
    const w = await call('GET', `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}&fieldSelector=metadata.name%3Dwatched&timeoutSeconds=1`);
    assert.equal(w.res.statusCode, 200);
    assert.match(String(w.res.headers['content-type']), /application\/json/);
    // The headers came while nothing had happened yet; now something happens.
    assert.equal((await call('POST', '/api/v1/namespaces/default/configmaps', configMap('other'))).res.statusCode, 201);
    assert.equal((await call('POST', '/api/v1/namespaces/default/configmaps', configMap('watched'))).res.statusCode, 201);
    assert.equal((await call('DELETE', '/api/v1/namespaces/default/configmaps/watched')).res.statusCode, 200);
    const lines = await w.lines();
    assert.deepEqual(lines.map((l) => `${l.type} ${l.object.metadata.name ?? ''}`), ['ADDED watched', 'DELETED watched']);
  });

  it('replays what happened after the resourceVersion, and ends at timeoutSeconds with a bookmark when asked', async () => {
    const rv = await listRv();
    await call('POST', '/api/v1/namespaces/default/configmaps', configMap('replayed'));
    const w = await call('GET', `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true&timeoutSeconds=1`);
    const lines = await w.lines();
    assert.equal(lines[0]?.type, 'ADDED');
    assert.equal(lines[0]?.object.metadata.name, 'replayed');
    const last = lines.at(-1);
    assert.equal(last?.type, 'BOOKMARK');
    assert.equal(last?.object.kind, 'ConfigMap');
    assert.ok(Number(last?.object.metadata.resourceVersion) > Number(rv));
  });

  it('a resourceVersion older than the history gets a 410 Expired Status event', async () => {
    const t = dgx.cluster.type('', 'configmaps');
    for (let i = 0; i < 5010; i++) dgx.cluster.store.put(t, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'churn', namespace: 'default' }, data: { i: String(i) } });
    const w = await call('GET', '/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1001');
    const lines = await w.lines();
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.type, 'ERROR');
    assert.equal(lines[0]?.object.code, 410);
    assert.equal(lines[0]?.object.reason, 'Expired');
  });
});
