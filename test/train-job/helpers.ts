// train-job's tests: a sandbox whose GKE cluster has a 2 × L4 burst pool, the dgx machine cluster,
// and the action's bundle run as the runner runs it (or spawned, to be signalled mid-run).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import type { FaultRule } from '../../scripts/sandbox/faults.js';
import { kubernetesOf, type ClusterHandle, type KubeCluster } from '../../scripts/sandbox/kubernetes/index.js';
import type { Json } from '../../scripts/sandbox/kubernetes/store.js';
import { inputEnv, parseFileCommands, readActionYaml, ROOT, runAction, runnerBaseEnv, runStep, stateEnv, type ActionRun } from '../harness.js';

export const BURST_POOL = 'burst-l4';
/** Four nodes of one L4 each, for the multi-node JobSet. */
export const DDP_POOL = 'ddp-l4';

function burstPool(name = BURST_POOL, nodes = 1, gpus = 2): Record<string, unknown> {
  return {
    name,
    initialNodeCount: nodes,
    locations: ['us-central1-a'],
    config: {
      machineType: gpus === 1 ? 'g2-standard-4' : 'g2-standard-24',
      diskSizeGb: 100,
      diskType: 'pd-balanced',
      imageType: 'COS_CONTAINERD',
      accelerators: [{ acceleratorType: 'nvidia-l4', acceleratorCount: String(gpus), gpuDriverInstallationConfig: { gpuDriverVersion: 'DEFAULT' } }],
      labels: { 'mlabs-managed': 'true' },
      taints: [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NO_SCHEDULE' }],
      oauthScopes: ['https://www.googleapis.com/auth/cloud-platform'],
    },
    management: { autoUpgrade: true, autoRepair: true },
    status: 'RUNNING',
  };
}

export interface Fixture {
  sb: Sandbox;
  dgx: ClusterHandle;
  gke: ClusterHandle;
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function start(): Promise<Fixture> {
  const seed = JSON.parse(readFileSync(join(ROOT, 'scripts/sandbox/seed/default.json'), 'utf8')) as { container: { clusters: { nodePools: unknown[] }[] } };
  const cluster = seed.container.clusters[0] as { nodePools: unknown[] };
  cluster.nodePools = [...cluster.nodePools, burstPool(), burstPool(DDP_POOL, 4, 1)];
  const sb = await startSandbox({ port: 0, operationMs: 50, seed });
  const kube = kubernetesOf(sb);
  const dgx = await kube.startCluster('dgx');
  const gke = kube.get('mlabs');
  if (!gke) throw new Error('no GKE cluster mlabs in the sandbox');
  for (let i = 0; i < 200 && nodes(gke.cluster).filter((n) => [BURST_POOL, DDP_POOL].includes(labelsOf(n)['cloud.google.com/gke-nodepool'] ?? '')).length < 5; i++) await new Promise((r) => setTimeout(r, 20));
  const env = { ...sb.env, KUBECONFIG: dgx.kubeconfigPath, MLABS_RETRY_BASE_MS: '1', MLABS_OPERATION_POLL_MS: '50', GITHUB_RUN_ATTEMPT: '1' } as Record<string, string>;
  return { sb, dgx, gke, env, stop: () => sb.stop() };
}

const labelsOf = (o: Json): Record<string, string> => ((o.metadata as Json).labels ?? {}) as Record<string, string>;
export const nodes = (c: KubeCluster): Json[] => c.store.list(c.type('', 'nodes'));
export const jobs = (c: KubeCluster, ns = 'default'): string[] => c.store.list(c.type('batch', 'jobs'), ns).map((j) => String((j.metadata as Json).name));
export const pods = (c: KubeCluster, ns = 'default'): Json[] => c.store.list(c.type('', 'pods'), ns);
export const secrets = (c: KubeCluster, ns = 'default'): string[] => c.store.list(c.type('', 'secrets'), ns).map((j) => String((j.metadata as Json).name));

export function fault(sb: Sandbox, rule: FaultRule, done: (fn: () => void) => void): void {
  const id = sb.faults.add(rule);
  done(() => sb.faults.remove(id));
}

export function train(f: Fixture, inputs: Record<string, string>, env: Record<string, string> = {}): Promise<ActionRun> {
  return runAction('train-job', { inputs, env: { ...f.env, ...env } });
}

export interface Spawned {
  pid: number;
  /** Resolves when the process ends: its exit code (or signal), log, outputs and saved state. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; log: string; outputs: Record<string, string>; state: Record<string, string>; summary: string }>;
  /** The log so far (to wait for what the action says while it runs). */
  logSoFar(): string;
  /** Run the post step with the state the main step saved. */
  post(): ReturnType<typeof runStep>;
}

/** Start the main step as a child process (to signal it while it runs). */
export function spawnTrain(f: Fixture, inputs: Record<string, string>): Spawned {
  const actionDir = join(ROOT, 'actions', 'train-job');
  const entry = join(actionDir, 'dist/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'mlabs-train-'));
  const base = { ...runnerBaseEnv(mkdtempSync(join(tmpdir(), 'mlabs-ws-')), mkdtempSync(join(tmpdir(), 'mlabs-tmp-'))), ...f.env };
  const files = { GITHUB_OUTPUT: join(dir, 'output'), GITHUB_STATE: join(dir, 'state'), GITHUB_ENV: join(dir, 'env'), GITHUB_PATH: join(dir, 'path'), GITHUB_STEP_SUMMARY: join(dir, 'summary') };
  for (const file of Object.values(files)) writeFileSync(file, '');
  const ins = inputEnv(readActionYaml(actionDir), inputs);
  const child = spawn(process.execPath, [entry], { env: { ...base, ...ins, ...files }, cwd: base.GITHUB_WORKSPACE, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const done = new Promise<Awaited<Spawned['done']>>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, log, outputs: parseFileCommands(readFileSync(files.GITHUB_OUTPUT, 'utf8')), state: parseFileCommands(readFileSync(files.GITHUB_STATE, 'utf8')), summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8') }));
  });
  return {
    pid: child.pid as number,
    done,
    logSoFar: () => log,
    post: () => runStep(entry, { ...base, ...ins, ...stateEnv(parseFileCommands(readFileSync(files.GITHUB_STATE, 'utf8'))) }, base.GITHUB_WORKSPACE as string),
  };
}

/** Wait until `check` holds (polling the in-process sandbox), at most `ms`. */
export async function until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
