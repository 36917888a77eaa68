// actions/lib/kubernetes/client.ts against the sandbox: the dgx machine cluster (token kubeconfig)
// and the GKE cluster through the kubeconfig gcloud writes (gke-gcloud-auth-plugin, an exec plugin).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it, vi } from 'vitest';
import { ActionError } from '../../actions/lib/errors.js';
import { ApiError } from '../../actions/lib/http.js';
import { KubeApiError, KubeClient, loadKubeconfig, type KubeObject } from '../../actions/lib/kubernetes/client.js';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import { kubernetesOf, type ClusterHandle } from '../../scripts/sandbox/kubernetes/index.js';
import { requireTool, run } from './helpers.js';

const ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap' } as const;
const Deployment = { apiVersion: 'apps/v1', kind: 'Deployment' } as const;
const Node = { apiVersion: 'v1', kind: 'Node' } as const;
const Pod = { apiVersion: 'v1', kind: 'Pod' } as const;

describe('Kubernetes client against the sandbox', () => {
  let sb: Sandbox;
  let dgx: ClusterHandle;
  let k: KubeClient;
  let dir: string;
  beforeAll(async () => {

    sb = await startSandbox({ port: 0, operationMs: 100 });
    dgx = await kubernetesOf(sb).startCluster('dgx');
    k = await KubeClient.fromKubeconfig(dgx.kubeconfigPath, { retry: { attempts: 6, baseMs: 1, capMs: 5 } });
    dir = mkdtempSync(join(tmpdir(), 'kube-client-'));
  });
  afterAll(async () => {
    await sb?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reads a kubeconfig: server, CA data or file, token, namespace', async () => {
    const cfg = await loadKubeconfig(dgx.kubeconfigPath);
    assert.equal(cfg.server, dgx.server);
    assert.equal(cfg.caPem, kubernetesOf(sb).caPem);
    assert.equal(cfg.namespace, 'default');
    writeFileSync(join(dir, 'ca.pem'), kubernetesOf(sb).caPem);
    const text = kubernetesOf(sb).kubeconfig('dgx').replace(/certificate-authority-data: \S+/, `certificate-authority: ${join(dir, 'ca.pem')}`).replace('namespace: default', 'namespace: ml');
    writeFileSync(join(dir, 'file-ca.kubeconfig'), text);
    const fromFile = await loadKubeconfig(join(dir, 'file-ca.kubeconfig'));
    assert.equal(fromFile.caPem, kubernetesOf(sb).caPem);
    assert.equal(fromFile.namespace, 'ml');
  });

  it('refuses a kubeconfig that turns TLS verification off', async () => {
    const text = kubernetesOf(sb).kubeconfig('dgx').replace(/certificate-authority-data: \S+/, 'insecure-skip-tls-verify: true');
    writeFileSync(join(dir, 'insecure.kubeconfig'), text);
    await assert.rejects(loadKubeconfig(join(dir, 'insecure.kubeconfig')), (e: unknown) => e instanceof ActionError && /insecure-skip-tls-verify/.test(e.message));
  });

  it('applies server-side, gets, lists by label and field selector, and deletes', async () => {
    const cm = (v: string): KubeObject => ({ ...ConfigMap, metadata: { name: 'settings', labels: { app: 'mlflow' } }, data: { replicas: v } });
    const created = await k.apply(cm('1'), { fieldManager: 'mlabs-test' });
    assert.equal(created.metadata.namespace, 'default');
    await k.apply(cm('2'), { fieldManager: 'mlabs-test' });
    const got = await k.get<KubeObject & { data: Record<string, string> }>({ ...ConfigMap, namespace: 'default' }, 'settings');
    assert.equal(got?.data.replicas, '2');
    await k.apply({ ...ConfigMap, metadata: { name: 'other', labels: { app: 'qdrant' } } }, { fieldManager: 'mlabs-test' });
    assert.deepEqual((await k.list(ConfigMap, { labelSelector: 'app=mlflow' })).map((o) => o.metadata.name), ['settings']);
    assert.deepEqual((await k.list({ ...ConfigMap, namespace: 'default' }, { fieldSelector: 'metadata.name=other' })).map((o) => o.metadata.name), ['other']);
    assert.equal(await k.delete({ ...ConfigMap, namespace: 'default' }, 'other'), true);
    assert.equal(await k.delete({ ...ConfigMap, namespace: 'default' }, 'other'), false);
    assert.equal(await k.get({ ...ConfigMap, namespace: 'default' }, 'other'), undefined);
  });

  it('turns a Kubernetes Status into a KubeApiError: an apply conflict between field managers', async () => {
    await assert.rejects(k.apply({ ...ConfigMap, metadata: { name: 'settings' }, data: { replicas: '3' } }, { fieldManager: 'another-team' }), (e: unknown) =>
      e instanceof KubeApiError && e instanceof ApiError && e.httpStatus === 409 && e.status === 'Conflict' && /conflict with "mlabs-test"/.test(e.message));
    const forced = await k.apply<KubeObject & { data: Record<string, string> }>({ ...ConfigMap, metadata: { name: 'settings' }, data: { replicas: '3' } }, { fieldManager: 'another-team', force: true });
    assert.equal(forced.data.replicas, '3');
    await assert.rejects(k.apply({ ...ConfigMap, metadata: { name: 'bad' }, dataa: { x: '1' } } as KubeObject, { fieldManager: 'mlabs-test' }), (e: unknown) => e instanceof KubeApiError && e.httpStatus === 400 && /dataa/.test(e.message));
  });

  it('retries 503 and 429 answers, then succeeds', async () => {
    sb.faults.add({ kind: 'error', match: { api: 'kubernetes', path: '/api/v1/nodes' }, status: 503, count: 2 });
    sb.faults.add({ kind: 'error', match: { api: 'kubernetes', path: '/api/v1/nodes' }, status: 429, count: 1 });
    const nodes = await k.list(Node);
    assert.deepEqual(nodes.map((n) => n.metadata.name), ['dgx']);
  });

  it('waits for a Deployment to become available, and reaches it through the service proxy', async () => {
    const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ml' } };
    await k.apply(ns, { fieldManager: 'mlabs-test' });
    await k.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'mlflow', namespace: 'ml' }, spec: { selector: { app: 'mlflow' }, ports: [{ port: 5000 }] } }, { fieldManager: 'mlabs-test' });
    const before = await k.proxyGet('ml', 'mlflow', 5000, '/health');
    assert.equal(before.status, 503);
    await k.apply({
      ...Deployment,
      metadata: { name: 'mlflow', namespace: 'ml' },
      spec: { replicas: 1, selector: { matchLabels: { app: 'mlflow' } }, template: { metadata: { labels: { app: 'mlflow' } }, spec: { containers: [{ name: 'mlflow', image: 'ghcr.io/mlflow/mlflow:v2.20.0' }] } } },
    }, { fieldManager: 'mlabs-test' });
    const d = await k.waitFor({ ...Deployment, namespace: 'ml' }, 'mlflow', (o) => Number(o?.status?.availableReplicas ?? 0) >= 1, { timeoutMs: 30_000, intervalMs: 50 });
    assert.equal(d?.status?.availableReplicas, 1);
    const health = await k.proxyGet('ml', 'mlflow', 5000, '/health');
    assert.deepEqual(health, { status: 200, body: 'OK' });
    const pods = await k.list(Pod, { labelSelector: 'app=mlflow', fieldSelector: 'spec.nodeName=dgx' });
    assert.equal(pods.length, 1);
  });

  it('waitFor gives up at its deadline with an ActionError', async () => {
    await assert.rejects(k.waitFor({ ...ConfigMap, namespace: 'default' }, 'never', (o) => o !== undefined, { timeoutMs: 200, intervalMs: 20, what: 'configmap never' }),
      (e: unknown) => e instanceof ActionError && /Timed out after 0.2 s waiting for configmap never \(it does not exist\)/.test(e.message));
  });

  it('an unknown kind is an ActionError naming it', async () => {
    await assert.rejects(k.list({ apiVersion: 'v1', kind: 'Widget' }), (e: unknown) => e instanceof ActionError && /does not serve Widget in v1/.test(e.message));
  });

  it('GKE: the kubeconfig from gcloud get-credentials, through gke-gcloud-auth-plugin, lists the pool nodes and their pods', async () => {
    requireTool('gcloud');
    const cfg = join(dir, 'gcloud');
    const env = { ...sb.env, CLOUDSDK_CONFIG: cfg, KUBECONFIG: join(dir, 'gke.kubeconfig') };
    const g = await run('gcloud', ['container', 'clusters', 'get-credentials', 'mlabs', '--location', 'us-central1'], env);
    assert.equal(g.code, 0, g.stderr);
    assert.match(readFileSync(join(dir, 'gke.kubeconfig'), 'utf8'), /command: gke-gcloud-auth-plugin/);
    for (const [key, value] of Object.entries(env)) vi.stubEnv(key, value); // the plugin runs with the action's environment
    const gke = await KubeClient.fromKubeconfig(join(dir, 'gke.kubeconfig'));
    assert.equal(await gke.config.token?.(), sb.ciToken, 'gke-gcloud-auth-plugin hands over the token gcloud holds: the CI account');
    assert.equal(gke.config.server, kubernetesOf(sb).get('mlabs')?.server);
    const nodes = await gke.list(Node, { labelSelector: 'cloud.google.com/gke-nodepool=system' });
    assert.ok(nodes.length > 0);
    const first = nodes[0]?.metadata.name ?? '';
    await gke.apply({ ...Pod, metadata: { name: 'probe', namespace: 'default' }, spec: { nodeName: first, containers: [{ name: 'c', image: 'busybox' }] } }, { fieldManager: 'mlabs-test' });
    const onNode = await gke.list(Pod, { fieldSelector: `spec.nodeName=${first}` });
    assert.deepEqual(onNode.map((p) => p.metadata.name), ['probe']);
  });
});
