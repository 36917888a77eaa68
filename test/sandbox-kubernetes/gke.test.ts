// The GKE link: gcloud get-credentials writes a kubeconfig kubectl uses through gke-gcloud-auth-plugin;
// a GPU pod stays Pending until a GPU node pool exists, then runs on it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import { requireTool, run } from './helpers.js';

describe('sandbox GKE cluster through gcloud and kubectl', () => {
  let sb: Sandbox;
  let env: Record<string, string>;
  let cfg: string;
  beforeAll(async () => {
    requireTool('kubectl');
    requireTool('gcloud');
    sb = await startSandbox({ port: 0, operationMs: 100 });
    cfg = mkdtempSync(join(tmpdir(), 'gcloud-cfg-'));
    env = { ...sb.env, CLOUDSDK_CONFIG: cfg, KUBECONFIG: join(cfg, 'kubeconfig') };
  });
  afterAll(async () => {
    await sb?.stop();
    if (cfg) rmSync(cfg, { recursive: true, force: true });
  });
  const kubectl = async (args: string[], input?: string) => {
    const r = await run('kubectl', args, env, input);
    if (process.env.KDEBUG) console.error(`kubectl ${args.join(' ')} -> ${r.code} ${r.stderr}`);
    return r;
  };

  it('get-credentials then kubectl get nodes lists the system pool', async () => {
    const g = await run('gcloud', ['container', 'clusters', 'get-credentials', 'mlabs', '--location', 'us-central1'], env);
    assert.equal(g.code, 0, g.stderr);
    const r = await kubectl(['get', 'nodes', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const nodes = (JSON.parse(r.stdout) as { items: { metadata: { labels: Record<string, string> } }[] }).items;
    assert.ok(nodes.length > 0);
    assert.ok(nodes.every((n) => n.metadata.labels['cloud.google.com/gke-nodepool'] === 'system'));
  });

  it('a GPU pod is Pending until a GPU pool exists, then Running on a node with GPU labels', async () => {
    const pod = 'apiVersion: v1\nkind: Pod\nmetadata: {name: cuda}\nspec:\n  tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]\n  containers:\n  - name: cuda\n    image: nvidia/cuda:12.4.1-base-ubuntu22.04\n    resources:\n      limits: {nvidia.com/gpu: 1}\n';
    writeFileSync(join(cfg, 'pod.yaml'), pod);
    const applied = await kubectl(['apply', '-f', join(cfg, 'pod.yaml')]);
    assert.equal(applied.code, 0, applied.stderr);
    const unscheduled = await kubectl(['wait', '--for=condition=PodScheduled=false', 'pod/cuda', '--timeout=30s']);
    assert.equal(unscheduled.code, 0, unscheduled.stderr);
    const phase = (await kubectl(['get', 'pod', 'cuda', '-o', 'jsonpath={.status.phase}/{.status.conditions[?(@.type=="PodScheduled")].reason}'])).stdout;
    assert.equal(phase, 'Pending/Unschedulable');
    const events = await kubectl(['get', 'events', '--field-selector', 'reason=FailedScheduling', '-o', 'jsonpath={.items[*].message}']);
    assert.match(events.stdout, /Insufficient nvidia\.com\/gpu/);

    const res = await fetch(`${sb.url}/container/v1/projects/${sb.project.projectId}/locations/us-central1/clusters/mlabs/nodePools`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sb.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ nodePool: { name: 'gpu-l4', initialNodeCount: 1, locations: ['us-central1-a'], config: { machineType: 'g2-standard-8', spot: true, accelerators: [{ acceleratorType: 'nvidia-l4', acceleratorCount: '1' }], labels: { 'mlabs-role': 'gpu' } } } }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const ready = await kubectl(['wait', '--for=condition=Ready', 'pod/cuda', '--timeout=30s']);
    assert.equal(ready.code, 0, ready.stderr);
    const nodes = JSON.parse((await kubectl(['get', 'nodes', '-l', 'cloud.google.com/gke-nodepool=gpu-l4', '-o', 'json'])).stdout) as { items: { metadata: { name: string; labels: Record<string, string> }; status: { allocatable: Record<string, string> }; spec: { taints?: { key: string }[] } }[] };
    assert.equal(nodes.items.length, 1);
    const n = nodes.items[0];
    assert.equal(n?.metadata.labels['cloud.google.com/gke-accelerator'], 'nvidia-l4');
    assert.equal(n?.metadata.labels['cloud.google.com/gke-spot'], 'true');
    assert.equal(n?.metadata.labels['mlabs-role'], 'gpu');
    assert.equal(n?.status.allocatable['nvidia.com/gpu'], '1');
    assert.ok(n?.spec.taints?.some((t) => t.key === 'nvidia.com/gpu'));
    const where = await kubectl(['get', 'pod', 'cuda', '-o', 'jsonpath={.spec.nodeName}']);
    assert.equal(where.stdout, n?.metadata.name);
  });
});
