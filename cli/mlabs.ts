/**
 * `mlabs`: training jobs from a terminal, through the same library as the train-job action, against
 * the current kubeconfig context (KUBECONFIG's files merged as kubectl merges them; --context,
 * -n/--namespace as kubectl takes them). Bundled to cli/dist/mlabs.cjs (`npm run build -- cli`), the
 * package's `bin`. Exit codes: 0 done, 1 the cluster or the job said no (through describeError), 2 a
 * wrong argument (naming the flag, the value and what is accepted, with the usage line).
 */
import { hostname, userInfo } from 'node:os';
import { badValue, durationValue, flag, has, intValue, parseArgs, patternValue, UsageError, type FlagSpec, type Parsed } from '../actions/lib/cli/args.js';
import { renderRunnerProtocol } from '../actions/lib/cli/terminal.js';
import { operationPollMs } from '../actions/lib/config.js';
import { ActionError, describeError, InputError } from '../actions/lib/errors.js';
import { KubeClient, kubeconfigPaths, loadKubeconfigs } from '../actions/lib/kubernetes/client.js';
import { parseQuantity } from '../actions/lib/kubernetes/quantity.js';
import { CPU, CPU_ACCEPTED, DNS_LABEL, engineCheck, IMAGE, IMAGE_ACCEPTED, JOB_NAME, JOB_NAME_ACCEPTED, MEMORY, MEMORY_ACCEPTED, mlflowFor, NAMESPACE_ACCEPTED, parseEnvLines } from '../actions/lib/train/inputs.js';
import { cancelTrainingJob, describeTrainingJob, findTrainingJob, followLogs, listTrainingJobs, readLogs, type TrainingJob } from '../actions/lib/train/jobs.js';
import { scaleWorkers } from '../actions/lib/train/ray-workers.js';
import { describeJob, runTraining, submitWorkload } from '../actions/lib/train/run.js';
import { RUN_ANNOTATION, type Workload } from '../actions/lib/train/spec.js';

const GLOBAL: FlagSpec[] = [
  { name: 'context', value: true },
  { name: 'namespace', short: 'n', value: true },
  { name: 'kubeconfig', value: true },
  { name: 'verbose', short: 'v' },
  { name: 'help', short: 'h' },
];
const GLOBAL_HELP = `Flags of every command:
  --context NAME      kubeconfig context (default: its current-context)
  -n, --namespace NS  namespace (default: the context's namespace, else default)
  --kubeconfig PATH   kubeconfig file (default: $KUBECONFIG, its files merged as kubectl does, else ~/.kube/config)
  -v, --verbose       show every API request (on stderr)
  -h, --help          this help`;

interface Command {
  usage: string;
  help: string;
  flags: FlagSpec[];
  run: (p: Parsed) => Promise<number>;
}

const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

const clock = (ms: number | undefined): string => (ms === undefined ? '-' : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z'));

/** kubectl's AGE column: 45s, 12m, 5h, 3d. */
function age(ms: number | undefined): string {
  if (ms === undefined) return '<unknown>';
  const s = Math.max(0, Math.floor((Date.now() - ms) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 120 * 60) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function table(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  for (const r of [header, ...rows]) out(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3))).join('').trimEnd());
}

/** The cluster of the (current or named) context, and the namespace: -n, else the context's. */
async function connect(p: Parsed): Promise<{ kube: KubeClient; namespace: string }> {
  const ns = flag(p, 'namespace');
  if (ns !== undefined) patternValue('--namespace', ns, DNS_LABEL, NAMESPACE_ACCEPTED);
  const context = flag(p, 'context');
  if (context !== undefined && context.trim() === '') throw badValue('--context', context, 'expected a context name of the kubeconfig.');
  const file = flag(p, 'kubeconfig');
  if (file !== undefined && file.trim() === '') throw badValue('--kubeconfig', file, 'expected the path of a kubeconfig file.');
  const config = await loadKubeconfigs(file ? [file] : kubeconfigPaths(), context ? { context } : {});
  return { kube: new KubeClient(config), namespace: ns ?? config.namespace };
}

/** The one NAME a command takes. */
function nameArg(p: Parsed, what = 'NAME'): string {
  const [name, ...extra] = p.positionals;
  if (name === undefined) throw new UsageError(`${what} is missing: which training job (mlabs jobs list shows them)?`);
  if (extra.length) throw new UsageError(`one ${what} only; also given: ${extra.map((e) => JSON.stringify(e)).join(' ')}.`);
  return patternValue(what, name, JOB_NAME, JOB_NAME_ACCEPTED);
}

function noPositionals(p: Parsed): void {
  if (p.positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(p.positionals[0])}.`);
}

/** How often the workload and its pods are read while following: 500 ms (faster when MLABS_OPERATION_POLL_MS says so). */
const pollMs = (): number => Math.min(operationPollMs() ?? 500, 500);

/** Ctrl-C while following: stop following (the workload keeps running). */
function interruptible(): { signal: AbortSignal; done: () => void } {
  const ctl = new AbortController();
  const stop = (): void => ctl.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const done = (): void => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  };
  return { signal: ctl.signal, done };
}

/** `--env KEY=VALUE` flags: values are masked and go to the Job's Secret, never repeated in a message. */
function envFlags(values: string[]): [string, string][] {
  for (const v of values) {
    const eq = v.indexOf('=');
    const key = eq < 0 ? v : v.slice(0, eq);
    if (eq < 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) || v.includes('\n')) {
      throw new UsageError(`--env ${eq < 0 ? `"${key}"` : `"${key}=…"`}: expected KEY=VALUE, KEY made of letters, digits and underscores (not starting with a digit), the value on one line.`);
    }
  }
  try {
    return parseEnvLines('--env', values.join('\n'));
  } catch (err) {
    if (err instanceof InputError) throw new UsageError(err.message.replace(/^Input "--env": /, '--env: ').replace(/ \(line \d+\)/, ''), err.fix);
    throw err;
  }
}

/** A name for a workload submitted without --name: mlabs-YYYYMMDD-HHMMSS. */
const defaultName = (): string => `mlabs-${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}`;

const submit: Command = {
  usage: 'usage: mlabs jobs submit --image IMAGE [--gpus N] [--nodes N] [--cpu Q] [--memory Q] [--env KEY=VALUE]... [--queue NAME] [--name NAME] [--timeout D] [-f] [-- COMMAND [ARG]...]',
  help: `Submit a training workload (a Job; a JobSet for more than one node) as train-job does, print its name and return.

  --image IMAGE          trainer image, e.g. nvcr.io/nvidia/pytorch:25.01-py3 (required)
  --gpus N               GPUs per node, 0-16 (default 1; 0 for CPU only)
  --nodes N              nodes the training spans, 1-64 (default 1; more is a JobSet with torchrun's rendezvous)
  --cpu Q                CPU each pod requests, e.g. 8 or 3500m
  --memory Q             memory each pod requests and is limited to, e.g. 32Gi
  --env KEY=VALUE        trainer environment, repeatable; stored in a Secret the Job owns, never in the manifest
  --queue NAME           Kueue LocalQueue
  --name NAME            workload name (default mlabs-YYYYMMDD-HHMMSS)
  --timeout D            longest it may run, e.g. 90m (default 11h)
  --schedule-timeout D   with -f: how long a pod may stay unschedulable (default 10m)
  -f, --follow           stream the logs and wait for the end, as the train-job action does
  -- COMMAND [ARG]...    the container's command and arguments, as given (never through a shell);
                         without it the image's entrypoint runs`,
  flags: [
    { name: 'image', value: true }, { name: 'gpus', value: true }, { name: 'nodes', value: true }, { name: 'cpu', value: true }, { name: 'memory', value: true },
    { name: 'env', value: true, repeat: true }, { name: 'queue', value: true }, { name: 'name', value: true }, { name: 'timeout', value: true },
    { name: 'schedule-timeout', value: true }, { name: 'follow', short: 'f' },
  ],
  async run(p) {
    noPositionals(p);
    const image = flag(p, 'image');
    if (image === undefined) throw new UsageError(`--image is required: ${IMAGE_ACCEPTED}.`);
    patternValue('--image', image, IMAGE, IMAGE_ACCEPTED);
    const gpus = intValue('--gpus', flag(p, 'gpus') ?? '1', 0, 16);
    const nodes = intValue('--nodes', flag(p, 'nodes') ?? '1', 1, 64);
    const cpu = flag(p, 'cpu') ?? '';
    if (cpu && !(CPU.test(cpu) && parseQuantity(cpu) > 0)) throw badValue('--cpu', cpu, `expected ${CPU_ACCEPTED}, more than 0.`);
    const memory = flag(p, 'memory') ?? '';
    if (memory && !(MEMORY.test(memory) && parseQuantity(memory) > 0)) throw badValue('--memory', memory, `expected ${MEMORY_ACCEPTED}, more than 0.`);
    const queue = flag(p, 'queue') ?? '';
    if (queue) patternValue('--queue', queue, DNS_LABEL, 'a LocalQueue name: lowercase letters, digits, hyphens');
    const name = flag(p, 'name') ?? defaultName();
    patternValue('--name', name, JOB_NAME, JOB_NAME_ACCEPTED);
    const timeoutSeconds = durationValue('--timeout', flag(p, 'timeout') ?? '11h', 10, 7 * 24 * 3600);
    const scheduleTimeoutSeconds = durationValue('--schedule-timeout', flag(p, 'schedule-timeout') ?? '10m', 1, 24 * 3600);
    if (p.rest !== undefined && p.rest.length === 0) throw new UsageError('-- is followed by nothing: give the command after it (mlabs jobs submit --image IMAGE -- python train.py), or leave -- out to run the image\'s entrypoint.');
    const env = envFlags(p.flags.get('env') ?? []);
    const [command, ...args] = p.rest ?? [];
    const { kube, namespace } = await connect(p);
    await engineCheck(kube, { nodes, engine: 'batch', queue });
    if (!(await kube.get({ apiVersion: 'v1', kind: 'Namespace' }, namespace))) {
      throw new ActionError(`Namespace ${namespace} does not exist on ${kube.config.context} (${kube.config.server}); nothing was created.`, { fix: `Create it (kubectl create namespace ${namespace}) or pick another with -n.` });
    }
    let who = 'unknown';
    try {
      who = `${userInfo().username}@${hostname()}`;
    } catch {
      /* no user database entry (a container): unknown */
    }
    const w: Workload = {
      target: 'local', runnerLabel: kube.config.context, accelerator: '', pool: '', image, command: command === undefined ? [] : [command], args, env, gpus, nodes, cpu, memory, namespace, name,
      timeoutSeconds, queue, run: `mlabs/${who}`,
    };
    w.mlflow = await mlflowFor(kube, '', 'local', 'mlabs', name);
    if (!has(p, 'follow')) {
      const { job, adopted } = await submitWorkload(kube, w);
      out(adopted ? `${describeJob(w)} already exists with this same workload (submitted by ${job.metadata.annotations?.[RUN_ANNOTATION] ?? 'an earlier run'}); nothing new was created.` : `Submitted ${describeJob(w)} on ${kube.config.context}: ${image}, ${nodes} node(s) × ${gpus} GPU.`);
      out(name);
      return 0;
    }
    const { signal, done } = interruptible();
    const r = await runTraining(kube, w, { scheduleTimeoutMs: scheduleTimeoutSeconds * 1000, pollMs: pollMs(), signal, onCreated: () => undefined }).finally(done);
    if (r.outcome === 'cancelled') {
      process.stderr.write(`Stopped following; ${describeJob(w)} keeps running (mlabs jobs logs ${name} -f, mlabs jobs cancel ${name}).\n`);
      return 130;
    }
    out(`${describeJob(w)}: ${r.outcome}${r.exitCode !== undefined ? ` (exit code ${r.exitCode})` : ''}${r.node ? `, on ${r.node}${r.gpu ? ` (${r.gpu})` : ''}` : ''}.`);
    if (r.outcome === 'succeeded') return 0;
    throw new ActionError(`The training ${describeJob(w)} ${r.outcome === 'timed-out' ? 'timed out' : 'failed'}: ${r.reason}${r.exitCode !== undefined ? ` (exit code ${r.exitCode})` : ''}.`, {
      fix: `Its logs: mlabs jobs logs ${name}; remove it: mlabs jobs cancel ${name}.`,
    });
  },
};

const list: Command = {
  usage: 'usage: mlabs jobs list [-n NS] [--context NAME]',
  help: 'List the training workloads train-job and mlabs created in the namespace: NAME, ENGINE (job, jobset, rayjob), STATUS, NODES, GPUS (per node), AGE.',
  flags: [],
  async run(p) {
    noPositionals(p);
    const { kube, namespace } = await connect(p);
    const jobs = await listTrainingJobs(kube, namespace);
    if (!jobs.length) {
      out(`No training jobs in namespace ${namespace} on ${kube.config.context}.`);
      return 0;
    }
    table(['NAME', 'ENGINE', 'STATUS', 'NODES', 'GPUS', 'AGE'], jobs.map((j) => [j.name, j.engine, j.status, String(j.nodes), String(j.gpus), age(j.created)]));
    return 0;
  },
};

const logs: Command = {
  usage: 'usage: mlabs jobs logs NAME [-f] [--tail N]',
  help: `Print the trainer's log of every pod of the workload (each line prefixed with its rank when it spans more than one node).

  -f, --follow   stream the logs until the workload ends (Ctrl-C stops following; the job keeps running)
  --tail N       only the last N lines of each pod (not with -f)`,
  flags: [{ name: 'follow', short: 'f' }, { name: 'tail', value: true }],
  async run(p) {
    const name = nameArg(p);
    const tailRaw = flag(p, 'tail');
    const tail = tailRaw === undefined ? undefined : intValue('--tail', tailRaw, 0);
    if (tail !== undefined && has(p, 'follow')) throw badValue('--tail', tailRaw, 'cannot be combined with -f, which streams every pod\'s log from its start; leave one out.');
    const { kube, namespace } = await connect(p);
    const j = await findTrainingJob(kube, namespace, name);
    if (has(p, 'follow')) {
      const { signal, done } = interruptible();
      const end = await followLogs(kube, j, { pollMs: pollMs(), signal }).finally(done);
      if (signal.aborted) return 130;
      process.stderr.write(`${name}: ${end.status}${end.reason ? ` (${end.reason})` : ''}\n`);
      return 0;
    }
    const n = await readLogs(kube, j, tail, out);
    if (n === 0) process.stderr.write(`${name} has no log lines yet (status ${j.status}).\n`);
    return 0;
  },
};

function where(d: Awaited<ReturnType<typeof describeTrainingJob>>): string {
  if (!d.nodes.length) return '-';
  const multi = d.job.nodes > 1;
  return d.nodes.map((n, i) => `${multi ? `rank ${i}: ` : ''}${n.node}${n.gpu ? ` (${n.gpu})` : ''}`).join(', ');
}

const status: Command = {
  usage: 'usage: mlabs jobs status NAME',
  help: 'Show one training workload: its engine and status, who submitted it, the timeline (created, started, running, finished), where it ran, the outcome and the exit code.',
  flags: [],
  async run(p) {
    const name = nameArg(p);
    const { kube, namespace } = await connect(p);
    const d = await describeTrainingJob(kube, await findTrainingJob(kube, namespace, name));
    const j: TrainingJob = d.job;
    const t = d.timeline;
    const ran = t.running !== undefined ? `${(((t.finished ?? Date.now()) - t.running) / 1000).toFixed(1)} s${t.finished === undefined ? ' so far' : ''}` : '-';
    const rows: [string, string][] = [
      ['name', `${j.namespace}/${j.name}`],
      ['engine', j.engine],
      ['status', `${j.status}${j.reason ? `: ${j.reason}` : ''}`],
      ['submitted by', d.submittedBy || '-'],
      ['image', d.image || '-'],
      ['size', `${j.nodes} node${j.nodes > 1 ? 's' : ''} × ${j.gpus} GPU`],
      ['created', clock(t.created)],
      ['started', clock(t.started)],
      ['running', clock(t.running)],
      ['finished', clock(t.finished)],
      ['ran', ran],
      ['ran on', where(d)],
      ['exit code', d.exitCode === undefined ? '-' : String(d.exitCode)],
    ];
    for (const [k, v] of rows) out(`${k.padEnd(14)}${v}`);
    return 0;
  },
};

const cancel: Command = {
  usage: 'usage: mlabs jobs cancel NAME',
  help: 'Delete the training workload with its pods, its env Secret and (a JobSet\'s) headless Service, as train-job cleans up.',
  flags: [],
  async run(p) {
    const name = nameArg(p);
    const { kube, namespace } = await connect(p);
    const j = await findTrainingJob(kube, namespace, name);
    const gone = await cancelTrainingJob(kube, j);
    out(gone.length ? `Deleted ${gone.join(', ')} in ${namespace}.` : `${j.name} was already gone.`);
    return 0;
  },
};

const scale: Command = {
  usage: 'usage: mlabs workers scale N [--cluster NAME] [--group NAME]',
  help: `Set the replicas of a KubeRay RayCluster's worker group.

  N                a whole number, 0 or more
  --cluster NAME   the RayCluster (default: the only one in the namespace)
  --group NAME     the worker group (default: the first, workerGroupSpecs[0])`,
  flags: [{ name: 'cluster', value: true }, { name: 'group', value: true }],
  async run(p) {
    const [raw, ...extra] = p.positionals;
    if (raw === undefined) throw new UsageError('N is missing: how many workers?');
    if (extra.length) throw new UsageError(`one N only; also given: ${extra.map((e) => JSON.stringify(e)).join(' ')}.`);
    const replicas = intValue('N', raw, 0, 10_000);
    const cluster = flag(p, 'cluster');
    if (cluster !== undefined) patternValue('--cluster', cluster, /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'a RayCluster name: lowercase letters, digits, hyphens and dots');
    const group = flag(p, 'group');
    if (group !== undefined) patternValue('--group', group, /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, 'a worker group name (groupName): letters, digits, hyphens, underscores, dots');
    const { kube, namespace } = await connect(p);
    const r = await scaleWorkers(kube, { namespace, cluster, group, replicas });
    out(`RayCluster ${namespace}/${r.cluster}: worker group ${r.group} ${r.from} → ${r.to} replicas${r.notes.length ? ` (${r.notes.join(', ')})` : ''}.`);
    return 0;
  },
};

const GROUPS: Record<string, { usage: string; help: string; commands: Record<string, Command> }> = {
  jobs: {
    usage: 'usage: mlabs jobs <submit|list|logs|status|cancel> [flags]',
    help: `Training workloads (what the train-job action runs), on the current kubeconfig context.

  submit   submit a workload: mlabs jobs submit --image IMAGE [--gpus N] [--nodes N] ... -- python train.py
  list     the workloads train-job and mlabs created: NAME, ENGINE, STATUS, NODES, GPUS, AGE
  logs     a workload's log, every rank prefixed: mlabs jobs logs NAME [-f] [--tail N]
  status   timeline, where it ran, outcome and exit code: mlabs jobs status NAME
  cancel   delete it with its pods, Secret and Service: mlabs jobs cancel NAME`,
    commands: { submit, list, logs, status, cancel },
  },
  workers: {
    usage: 'usage: mlabs workers scale N [--cluster NAME] [--group NAME]',
    help: `Ray workers.

  scale    set a RayCluster worker group's replicas: mlabs workers scale N [--cluster NAME] [--group NAME]`,
    commands: { scale },
  },
};

const ROOT_USAGE = 'usage: mlabs <jobs|workers> <command> [flags]';
const ROOT_HELP = `mlabs: training jobs and Ray workers from a terminal, on the current kubeconfig context.

  mlabs jobs submit --image IMAGE [flags] [-- COMMAND [ARG]...]
  mlabs jobs list
  mlabs jobs logs NAME [-f] [--tail N]
  mlabs jobs status NAME
  mlabs jobs cancel NAME
  mlabs workers scale N [--cluster NAME] [--group NAME]

Run mlabs jobs --help, mlabs workers --help or mlabs <group> <command> --help for more.`;

const isHelp = (a: string | undefined): boolean => a === '-h' || a === '--help' || a === 'help';

async function main(argv: string[]): Promise<number> {
  let usage = ROOT_USAGE;
  try {
    const [groupName, commandName, ...rest] = argv;
    if (isHelp(groupName)) return (out(ROOT_HELP), 0);
    if (groupName === undefined) throw new UsageError('a command is missing.');
    const group = GROUPS[groupName];
    if (!group) throw new UsageError(`unknown command ${JSON.stringify(groupName)}: expected jobs or workers.`);
    usage = group.usage;
    if (isHelp(commandName)) return (out(`${group.usage}\n\n${group.help}\n\n${GLOBAL_HELP}`), 0);
    if (commandName === undefined) throw new UsageError(`mlabs ${groupName} needs a command: ${Object.keys(group.commands).join(', ')}.`);
    const command = group.commands[commandName];
    if (!command) throw new UsageError(`unknown command ${JSON.stringify(commandName)} of mlabs ${groupName}: expected ${Object.keys(group.commands).join(', ')}.`);
    usage = command.usage;
    const parsed = parseArgs(rest, [...command.flags, ...GLOBAL]);
    if (has(parsed, 'help')) return (out(`${command.usage}\n\n${command.help}\n\n${GLOBAL_HELP}`), 0);
    renderRunnerProtocol({ verbose: has(parsed, 'verbose') });
    return await command.run(parsed);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`mlabs: ${describeError(err)}\n${usage}\n`);
      return 2;
    }
    process.stderr.write(`error: ${describeError(err)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
