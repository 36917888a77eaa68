// npm run workflow -- PATH.yml [--input k=v]... [--vars FILE] [--secrets FILE] [--event workflow_dispatch|schedule] [--keep]
// Runs a workflow file locally against a fresh sandbox (or the one the exported MLABS_SANDBOX_URL and
// CLOUDSDK_* variables of `npm run sandbox` name), printing each job and step the way the Actions tab
// shows them. Exits 1 when the run fails. FILE: JSON object or NAME=VALUE lines.
import { readFileSync } from 'node:fs';
import { loadSeed, sandboxEnv, startSandbox, type Sandbox } from '../sandbox/index.js';
import { MACHINES, kubernetesOf } from '../sandbox/kubernetes/index.js';
import { INPUTS_FROM_VARS, sandboxDefaults, sandboxSecrets, sandboxVars } from './defaults.js';
import { printer } from './print.js';
import { loadWorkflow, runWorkflow, type Event } from './runner.js';

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npm run workflow -- PATH.yml [--input k=v]... [--vars FILE] [--secrets FILE] [--event workflow_dispatch|schedule] [--keep]\n`);
  process.exit(2);
}

function readPairs(file: string): Record<string, string> {
  const text = readFileSync(file, 'utf8');
  if (text.trim().startsWith('{')) return Object.fromEntries(Object.entries(JSON.parse(text) as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z_][\w]*)\s*=(.*)$/.exec(line);
    if (m) out[m[1] as string] = (m[2] as string).trim();
  }
  return out;
}

const argv = process.argv.slice(2);
let file: string | undefined;
const inputs: Record<string, string> = {};
let varsFile: string | undefined;
let secretsFile: string | undefined;
let event: Event = 'workflow_dispatch';
let keep = false;
for (let i = 0; i < argv.length; i++) {
  const a = argv[i] as string;
  const value = (): string => {
    const v = argv[++i];
    if (v === undefined) usage(`${a} needs a value`);
    return v;
  };
  if (a === '--input') {
    const kv = value();
    const eq = kv.indexOf('=');
    if (eq <= 0) usage(`--input ${kv}: expected NAME=VALUE`);
    inputs[kv.slice(0, eq)] = kv.slice(eq + 1);
  } else if (a === '--vars') varsFile = value();
  else if (a === '--secrets') secretsFile = value();
  else if (a === '--event') {
    const e = value();
    if (e !== 'workflow_dispatch' && e !== 'schedule') usage(`--event ${e}: accepted: workflow_dispatch, schedule`);
    event = e;
  } else if (a === '--keep') keep = true;
  else if (a.startsWith('--')) usage(`unknown option ${a}`);
  else if (file) usage(`one workflow file at a time (got ${file} and ${a})`);
  else file = a;
}
if (!file) usage('no workflow file given');

let sb: Sandbox | undefined;
let env: Record<string, string>;
let vars: Record<string, string>;
let secrets: Record<string, string>;
let machineKubeconfigs: Record<string, string> | undefined;
if (process.env.MLABS_SANDBOX_URL) {
  // Attach: the variables `npm run sandbox` printed are exported in this shell.
  const wanted = Object.keys(sandboxEnv('', '', { projectId: '', region: '' }, ''));
  const missing = wanted.filter((k) => !process.env[k]);
  if (missing.length) usage(`MLABS_SANDBOX_URL is set but not ${missing.join(', ')}: export every line npm run sandbox printed, or unset MLABS_SANDBOX_URL for a fresh sandbox`);
  env = Object.fromEntries(wanted.map((k) => [k, process.env[k] as string]));
  // Variables API modules add (the Docker registry hosts' ports).
  if (process.env.MLABS_DOCKER_REGISTRY_OVERRIDES) env.MLABS_DOCKER_REGISTRY_OVERRIDES = process.env.MLABS_DOCKER_REGISTRY_OVERRIDES;
  const seed = loadSeed(undefined) as Parameters<typeof sandboxVars>[1] & { project?: { projectNumber?: string } };
  const project = { projectId: env.CLOUDSDK_CORE_PROJECT as string, region: env.CLOUDSDK_COMPUTE_REGION as string, projectNumber: seed.project?.projectNumber ?? '123456789012' };
  vars = sandboxVars(project, seed);
  secrets = sandboxSecrets(seed);
  process.stdout.write(`Using the sandbox at ${process.env.MLABS_SANDBOX_URL}\n`);
} else {
  sb = await startSandbox();
  env = sb.env;
  // The dgx and agx machines' own clusters, as npm run sandbox starts them.
  const kube = kubernetesOf(sb);
  machineKubeconfigs = {};
  for (const machine of Object.keys(MACHINES)) {
    await kube.startCluster(machine);
    machineKubeconfigs[machine] = kube.kubeconfig(machine);
  }
  ({ vars, secrets } = sandboxDefaults(sb));
  process.stdout.write(`Started a sandbox at ${sb.url} (project ${sb.project.projectId})\n`);
}
if (varsFile) vars = { ...vars, ...readPairs(varsFile) };
if (secretsFile) secrets = { ...secrets, ...readPairs(secretsFile) };

if (event === 'workflow_dispatch') {
  try {
    const { template } = await loadWorkflow(file);
    for (const [name, spec] of Object.entries(template.events.workflow_dispatch?.inputs ?? {})) {
      const fromVar = INPUTS_FROM_VARS[name];
      if (inputs[name] === undefined && spec.default === undefined && fromVar && vars[fromVar]) {
        inputs[name] = vars[fromVar];
        process.stdout.write(`input ${name} = vars.${fromVar}\n`);
      }
    }
  } catch {
    // runWorkflow reports the parse errors.
  }
}

const { onEvent, printResult } = printer();

let code: number;
try {
  const result = await runWorkflow({ file, event, inputs, vars, secrets, env, keep, onEvent, machineKubeconfigs });
  printResult(result);
  if (keep) process.stdout.write(`\nRun folder kept: ${result.dir}\n`);
  process.stdout.write(`\n${result.conclusion === 'success' ? '✓' : '✗'} ${result.name}: ${result.conclusion}\n`);
  code = result.conclusion === 'success' ? 0 : 1;
} finally {
  await sb?.stop();
}
process.exit(code);
