/** The README's first command: the lifecycle demo runs the workflow files on a fresh sandbox and does what it says. */
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT, runProgram } from './harness.js';

const WORKFLOWS = ['platform-create', 'gpu-quota-request', 'train-private-first', 'gke-gpu-expand', 'gke-gpu-destroy', 'gke-gpu-restore', 'cost-cleanup', 'local-stack-deploy', 'local-stack-undeploy', 'gpu-quota-release', 'platform-destroy'];

test('npm run demo runs the workflow files in order: routing bursts, failover on a stockout, stand-ins named', { timeout: 600_000 }, async () => {
  const { code, stdout, stderr } = await runProgram(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/demo.ts')], { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' });
  const out = stdout + stderr;
  assert.equal(code, 0, out);
  assert.match(out, /Lifecycle complete\./);
  // Every workflow file ran, in this order, and succeeded.
  const order = WORKFLOWS.map((w) => out.indexOf(`workflows/${w}.yml`));
  assert.ok(order.every((i, n) => i >= 0 && (n === 0 || i > (order[n - 1] as number))), `in order: ${JSON.stringify(order)}`);
  for (const w of WORKFLOWS) assert.match(out, new RegExp(`^✓ ${w}\\.yml: success$`, 'm'), `${w} succeeded`);
  // The Actions-tab view: jobs with their runner labels, steps with outcome and time.
  assert.match(out, /● train-cloud on \[self-hosted, wsl2\], concurrency mlabs-platform-mlabs-demo, id-token: write/);
  assert.match(out, /✓ Run mlabs\/mlabs-actions\/actions\/node-pool-expand@v1 \(success, \d+\.\d s\)/);
  // Routing: no machine fits the 40 GB amd64 job, so it bursts; the burst cleans up after itself.
  assert.match(out, /Bursts to the cloud on 2 × nvidia-l4 \(about \$[\d.]+\/hour\): no local machine fits\./);
  assert.match(out, /- train-local: skipped/);
  assert.match(out, /✓ Train on the burst pool \(success, \d+\.\d s\)/);
  assert.match(out, /✓ Delete the burst pool \(always, so it never outlives the job\)/);
  // Failover: the restore met the injected stockout in us-central1-a and came back in us-central1-b.
  assert.match(out, /\| 1 \| us-central1-a \| stockout \|/);
  assert.match(out, /\| 2 \| us-central1-b \| created \|/);
  const nodes = out.split('kubectl get nodes').slice(1);
  assert.equal(nodes.length, 1);
  assert.match(nodes[0] as string, /gke-mlabs-gpu-l4-\S+\s+Ready\s.*gpu-l4\s+nvidia-l4/);
  // Stand-ins are named as such; gcloud and kubectl are not stand-ins.
  assert.match(out, /✓ terraform apply \(success, \d+\.\d s\) \[stand-in, not the real tool: terraform \(apply -input=false\)\]/);
  assert.match(out, /\[stand-in, not the real tool: minikube/);
  assert.doesNotMatch(out, /stand-in, not the real tool: (gcloud|kubectl)/);
  assert.doesNotMatch(out, /^ {2}✗ /m, 'no step failed');
});
