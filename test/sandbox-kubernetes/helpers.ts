// Shared by the Kubernetes sandbox tests: a sandbox, a machine cluster, and real kubectl.
import { execFile } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { onTestFinished } from 'vitest';
import type { FaultRule } from '../../scripts/sandbox/faults.js';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import { kubernetesOf, type ClusterHandle, type KubernetesService } from '../../scripts/sandbox/kubernetes/index.js';

/** kubectl must be on PATH (CI has it); a missing tool fails the test, it is not skipped. */
export function requireTool(name: string): void {
  try {
    execFileSync(name, name === 'kubectl' ? ['version', '--client'] : ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(`${name} is not on PATH: the Kubernetes sandbox tests run the real ${name}`);
  }
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], env: Record<string, string>, input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { env: { ...process.env, ...env }, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

export interface KubeFixture {
  sb: Sandbox;
  kube: KubernetesService;
  dgx: ClusterHandle;
  kubectl(args: string[], input?: string): Promise<Run>;
  stop(): Promise<void>;
}

export async function startKube(): Promise<KubeFixture> {
  requireTool('kubectl');
  const sb = await startSandbox({ port: 0, operationMs: 100 });
  const kube = kubernetesOf(sb);
  const dgx = await kube.startCluster('dgx');
  const env = { KUBECONFIG: dgx.kubeconfigPath, HOME: process.env.HOME ?? '/tmp' };
  return {
    sb,
    kube,
    dgx,
    kubectl: async (args, input) => { const t0 = Date.now(); const r = await run('kubectl', args, env, input); if (process.env.KDEBUG) console.error(`kubectl ${args.join(" ")} -> ${r.code} in ${Date.now() - t0}ms ${r.stderr}`); return r; },
    stop: () => sb.stop(),
  };
}

/** A sandbox fault rule for the running test only (removed when it finishes). */
export function faultForTest(k: KubeFixture, rule: FaultRule): void {
  const id = k.sb.faults.add(rule);
  onTestFinished(() => k.sb.faults.remove(id));
}

/** `kubectl apply -f -` of a manifest, which must succeed. */
export async function applyOk(k: KubeFixture, yaml: string): Promise<void> {
  const r = await k.kubectl(['apply', '-f', '-'], yaml);
  assert.equal(r.code, 0, r.stderr);
}
