// Shared by the local-stack tests: a sandbox with a dgx/agx machine cluster, real kubectl, and recorded
// stand-ins for helm and minikube (they cannot be downloaded here) first on PATH.
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAction, type ActionRun } from '../harness.js';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import { kubernetesOf, type ClusterHandle, type KubernetesService } from '../../scripts/sandbox/kubernetes/index.js';
import type { ComponentResult } from '../../actions/lib/local-stack/stack.js';

export const NGC_KEY = 'nvapi-TEST-ngc-key-0123456789abcdefSECRET';

/** kubectl must be on PATH: a missing tool fails the test. */
export function requireKubectl(): void {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
  } catch {
    throw new Error('kubectl is not on PATH: the local-stack tests run the real kubectl against the sandbox');
  }
}

// helm stand-in: records argv (never stdin), keeps release state in a JSON file, and on
// `upgrade --install` applies what the chart would create (the entity store) with the real kubectl.
const HELM = `#!/usr/bin/env node
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const argv = process.argv.slice(2);
const dir = process.env.MLABS_STANDIN_DIR;
let stdinBytes = 0;
if (argv[0] === 'repo') { try { stdinBytes = fs.readFileSync(0).length; } catch {} }
fs.appendFileSync(dir + '/calls.jsonl', JSON.stringify({ tool: 'helm', argv, stdinBytes }) + '\\n');
const stateFile = dir + '/helm-state.json';
const state = fs.existsSync(stateFile) ? JSON.parse(fs.readFileSync(stateFile, 'utf8')) : { releases: {} };
const opt = (n) => { const i = argv.indexOf(n); return i >= 0 ? argv[i + 1] : undefined; };
const kubeconfig = opt('--kubeconfig');
const fixture = ${JSON.stringify(`apiVersion: apps/v1
kind: Deployment
metadata: {name: nemo-entity-store, namespace: nemo, labels: {app.kubernetes.io/instance: nemo}}
spec:
  replicas: 1
  selector: {matchLabels: {app: nemo-entity-store}}
  template:
    metadata: {labels: {app: nemo-entity-store}}
    spec:
      imagePullSecrets: [{name: ngc-registry}]
      containers: [{name: entity-store, image: nvcr.io/nvidia/nemo-microservices/entity-store:25.06, ports: [{containerPort: 8000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: nemo-entity-store, namespace: nemo}
spec:
  selector: {app: nemo-entity-store}
  ports: [{port: 8000}]
`)};
if (argv[0] === 'list') {
  const r = state.releases.nemo;
  process.stdout.write(JSON.stringify(r ? [{ name: 'nemo', namespace: 'nemo', chart: r.chart, status: 'deployed', revision: String(r.revision) }] : []));
} else if (argv[0] === 'get' && argv[1] === 'values') {
  process.stdout.write(JSON.stringify(state.releases[argv[2]]?.values ?? null));
} else if (argv[0] === 'repo') {
  process.stdout.write('"nemo-microservices" has been added to your repositories\\n');
} else if (argv[0] === 'upgrade') {
  const values = JSON.parse(fs.readFileSync(opt('--values'), 'utf8'));
  const chart = argv[3].split('/')[1] + '-' + opt('--version');
  const prev = state.releases[argv[2]];
  state.releases[argv[2]] = { chart, values, revision: (prev?.revision ?? 0) + 1 };
  execFileSync('kubectl', ['--kubeconfig', kubeconfig, 'apply', '-f', '-'], { input: fixture });
  fs.writeFileSync(stateFile, JSON.stringify(state));
  process.stdout.write('Release "nemo" has been upgraded. Happy Helming!\\n');
} else if (argv[0] === 'uninstall') {
  execFileSync('kubectl', ['--kubeconfig', kubeconfig, 'delete', '-f', '-', '--ignore-not-found'], { input: fixture });
  delete state.releases[argv[1]];
  fs.writeFileSync(stateFile, JSON.stringify(state));
  process.stdout.write('release "nemo" uninstalled\\n');
}
`;

// minikube stand-in: records argv; \`status -o json\` answers from minikube-state (Running unless told).
const MINIKUBE = `#!/usr/bin/env node
const fs = require('node:fs');
const argv = process.argv.slice(2);
const dir = process.env.MLABS_STANDIN_DIR;
fs.appendFileSync(dir + '/calls.jsonl', JSON.stringify({ tool: 'minikube', argv }) + '\\n');
const stateFile = dir + '/minikube-state';
const host = fs.existsSync(stateFile) ? fs.readFileSync(stateFile, 'utf8').trim() : 'Running';
const profile = argv[argv.indexOf('-p') + 1];
if (argv[0] === 'status') {
  process.stdout.write(JSON.stringify({ Name: profile, Host: host, Kubelet: host, APIServer: host, Kubeconfig: 'Configured', Worker: false }) + '\\n');
  process.exit(host === 'Running' ? 0 : 7);
}
if (argv[0] === 'start') { fs.writeFileSync(stateFile, 'Running'); process.stdout.write('Done! kubectl is now configured to use "' + profile + '" cluster\\n'); }
`;

export interface Call {
  tool: 'helm' | 'minikube';
  argv: string[];
  stdinBytes?: number;
}

export interface StackFixture {
  sb: Sandbox;
  kube: KubernetesService;
  machine: ClusterHandle;
  standins: string;
  calls(tool?: string): Call[];
  resetCalls(): void;
  /** Real kubectl, asynchronously (the sandbox answers from this process). */
  kubectl(args: string[], input?: string): Promise<string>;
  run(inputs: Record<string, string>): Promise<ActionRun>;
  /** Objects in the cluster that a user or the suite created (not events, nodes or built-ins). */
  objects(): string[];
  stop(): Promise<void>;
}

/** A machine cluster (dgx/agx), or with `gke` the sandbox's GKE cluster of that name (amd64 nodes). */
export async function startStack(machineName: 'dgx' | 'agx' | 'gke', gke = 'mlabs'): Promise<StackFixture> {
  requireKubectl();
  const sb = await startSandbox({ port: 0, operationMs: 100 });
  const kube = kubernetesOf(sb);
  let found = machineName === 'gke' ? kube.get(gke) : await kube.startCluster(machineName);
  for (let i = 0; !found && i < 100; i++) {
    await new Promise((r) => setTimeout(r, 50));
    found = kube.get(gke);
  }
  if (!found) throw new Error(`the sandbox has no Kubernetes cluster ${gke}`);
  const machine = found;
  // A GKE cluster's nodes follow its node pools asynchronously: wait until one is there.
  for (let i = 0; i < 200 && !machine.cluster.store.list(machine.cluster.type('', 'nodes')).length; i++) await new Promise((r) => setTimeout(r, 50));
  const standins = mkdtempSync(join(tmpdir(), 'mlabs-standins-'));
  writeFileSync(join(standins, 'helm'), HELM);
  writeFileSync(join(standins, 'minikube'), MINIKUBE);
  chmodSync(join(standins, 'helm'), 0o755);
  chmodSync(join(standins, 'minikube'), 0o755);
  writeFileSync(join(standins, 'calls.jsonl'), '');
  const home = mkdtempSync(join(tmpdir(), 'mlabs-home-'));
  const env = {
    PATH: `${standins}:${process.env.PATH ?? ''}`,
    HOME: home,
    MLABS_STANDIN_DIR: standins,
    MLABS_SSH_HOST: `${machineName}.lab.internal`,
    RUNNER_TOOL_CACHE: join(home, 'toolcache'),
  };
  const builtin = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);
  return {
    sb, kube, machine, standins,
    calls(tool) {
      const all = readFileSync(join(standins, 'calls.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Call);
      return tool ? all.filter((c) => c.tool === tool) : all;
    },
    resetCalls: () => writeFileSync(join(standins, 'calls.jsonl'), ''),
    kubectl: (args, input) => new Promise<string>((resolve, reject) => {
      const child = execFile('kubectl', ['--kubeconfig', machine.kubeconfigPath, ...args], { env: { ...process.env, HOME: home } }, (err, stdout, stderr) => {
        if (err) reject(new Error(`kubectl ${args.join(' ')}: ${String(stderr)}`));
        else resolve(String(stdout));
      });
      child.stdin?.end(input ?? '');
    }),
    run: (inputs) => runAction('local-stack', { inputs: { kubeconfig: machine.kubeconfigPath, profile: machineName, timeout: '120s', ...inputs }, env }),
    objects() {
      return machine.cluster.store.all()
        .filter((o) => !['events', 'nodes', 'leases'].includes(o.resource))
        .map((o) => `${o.resource}/${String((o.object.metadata as Record<string, unknown>).namespace ?? '')}/${String((o.object.metadata as Record<string, unknown>).name)}`)
        .filter((k) => !(k.startsWith('namespaces//') && builtin.has(k.slice('namespaces//'.length))) && k !== 'services/default/kubernetes')
        .sort();
    },
    stop: () => sb.stop(),
  };
}

/** One entry of the action's `status` output: the library's own result type, as JSON. */
export type StatusEntry = ComponentResult;

export function statusOf(run: ActionRun): StatusEntry[] {
  return JSON.parse(run.outputs.status ?? '[]') as StatusEntry[];
}

export function explain(run: ActionRun): string {
  return `exit ${run.exitCode}\n${run.main.stdout.slice(-4000)}\n${run.main.stderr.slice(-2000)}`;
}

export { existsSync };
