/** The README's first command: the lifecycle demo runs on a fresh sandbox and does what it says. */
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT, runProgram } from './harness.js';

test('npm run demo: routing, login, capacity, quota, create, snapshot, destroy, restore with failover', async () => {
  const { code, stdout, stderr } = await runProgram(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/demo.ts')], { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' });
  const out = stdout + stderr;
  assert.equal(code, 0, out);
  assert.match(out, /Lifecycle complete\./);
  for (const action of ['route-job', 'wif-login', 'gpu-capacity', 'gpu-quota', 'node-pool-expand', 'node-pool-snapshot', 'node-pool-destroy', 'node-pool-restore']) {
    assert.match(out, new RegExp(`actions/${action}@v1`), `${action} ran`);
  }
  assert.match(out, /decision: cloud -> runs-on \["self-hosted","wsl2"\]/, 'the busy DGX and offline Jetson sent the job to the cloud');
  assert.match(out, /\| 1 \| us-central1-a \| stockout \|/, 'the first restore attempt met the injected stockout');
  assert.match(out, /\| 2 \| us-central1-b \| created \|/, 'and the pool came back in the next zone');
  assert.match(out, /gs:\/\/mlabs-demo-nodepool-snapshots\/node-pools\/mlabs\/gpu-l4\//);
  const nodes = out.split('kubectl get nodes').slice(1);
  assert.equal(nodes.length, 2, 'kubectl showed the nodes before and after the restore');
  assert.doesNotMatch(nodes[0] as string, /nvidia-l4/);
  assert.match((nodes[1] as string).split('\n\n')[0] as string, /gke-mlabs-gpu-l4-\S+\s+Ready\s.*gpu-l4\s+nvidia-l4/);
  assert.match(out, /Post: wif-login\s+removed the credentials file/);
  assert.doesNotMatch(out, /^ {4}failed/m, 'no step failed');
});
