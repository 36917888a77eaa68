// `npm run sandbox` (tsx scripts/sandbox/cli.ts) prints export lines that work.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'vitest';
import { KubeClient } from '../../actions/lib/kubernetes/client.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

test('the CLI starts the sandbox on a free port and prints every variable', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/sandbox/cli.ts', '--port', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const env: Record<string, string> = {};
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('export MLABS_SANDBOX_URL=')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`cli exited with ${code}: ${out}`)));
    });
    for (const m of out.matchAll(/^export (\w+)='([^']*)'$/gm)) env[m[1] as string] = m[2] as string;
    assert.match(out, /# project: mlabs-demo/);
    assert.match(out, /# cluster: mlabs \(us-central1\)/);
    assert.match(out, /# bucket: gs:\/\/mlabs-demo-nodepool-snapshots/);
    for (const k of ['CONTAINER', 'COMPUTE', 'CLOUDQUOTAS', 'STORAGE', 'IAMCREDENTIALS', 'STS', 'ARTIFACTREGISTRY', 'CLOUDBILLING', 'CLOUDRESOURCEMANAGER', 'SERVICEUSAGE', 'IAM']) {
      assert.ok(env[`CLOUDSDK_API_ENDPOINT_OVERRIDES_${k}`], k);
    }
    for (const k of ['CLOUDSDK_AUTH_ACCESS_TOKEN_FILE', 'CLOUDSDK_CORE_PROJECT', 'GITHUB_API_URL', 'ACTIONS_ID_TOKEN_REQUEST_URL', 'ACTIONS_ID_TOKEN_REQUEST_TOKEN']) {
      assert.ok(env[k], k);
    }
    // The MinIO stand-in and MLflow, for `aws --endpoint-url "$AWS_ENDPOINT_URL" s3 ls` and MLflow's REST calls.
    for (const k of ['AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION', 'MLFLOW_TRACKING_URI']) assert.ok(env[k], k);
    const mlflow = await fetch(`${env.MLFLOW_TRACKING_URI}/api/2.0/mlflow/registered-models/get?name=tiny-chat`);
    assert.equal(mlflow.status, 200);
    assert.equal((await fetch(`${env.AWS_ENDPOINT_URL}/mlflow/`)).status, 403, 'S3 refuses an unsigned request');
    const kubeconfigs = new Map([...out.matchAll(/^# kubeconfig for (GKE cluster|machine) (\S+) \((https:\/\/127\.0\.0\.1:\d+)\): (\S+)$/gm)].map((m) => [m[2] as string, { kind: m[1], server: m[3], path: m[4] as string }]));
    assert.deepEqual([...kubeconfigs.keys()].sort(), ['agx', 'dgx', 'mlabs']);
    assert.equal(kubeconfigs.get('mlabs')?.kind, 'GKE cluster');
    assert.equal(kubeconfigs.get('dgx')?.kind, 'machine');
    for (const [name, k] of kubeconfigs) {
      const client = await KubeClient.fromKubeconfig(k.path);
      assert.equal(client.config.server, k.server);
      const nodes = await client.list({ apiVersion: 'v1', kind: 'Node' });
      if (name === 'mlabs') assert.ok(nodes.length > 0 && nodes.every((n) => n.metadata.labels?.['cloud.google.com/gke-nodepool'] === 'system'));
      else assert.deepEqual(nodes.map((n) => n.metadata.name), [name]);
    }
    const tokenFile = env.CLOUDSDK_AUTH_ACCESS_TOKEN_FILE as string;
    assert.ok(existsSync(tokenFile));
    const token = readFileSync(tokenFile, 'utf8').trim();
    const res = await fetch(`${env.CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER}v1/projects/mlabs-demo/locations/us-central1/clusters/mlabs`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { status: string }).status, 'RUNNING');
  } finally {
    child.kill('SIGTERM');
  }
});
