/**
 * A local GitHub Actions runner for the suite's workflows: parses and validates a workflow with
 * GitHub's @actions/workflow-parser, evaluates every `${{ }}` with @actions/expressions (see
 * expressions.ts), and runs each job on this machine the way a self-hosted runner would. Actions of
 * this suite run their committed bundle through test/harness.ts; `run:` steps run in bash with
 * GitHub's shell commands; terraform, docker, helm, minikube and nvidia-smi are recorded stand-ins
 * (stand-ins/README.md). See README.md for what is supported.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NoOperationTraceWriter, convertWorkflowTemplate, isMapping, isSequence, isString, parseWorkflow } from '@actions/workflow-parser';
import type { InputConfig, Job, Step, WorkflowJob, WorkflowTemplate } from '@actions/workflow-parser/model/workflow-template';
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';
import { ROOT, inputEnv, readActionYaml, runCommandStep, runStep, runnerBaseEnv, stateEnv, type StepResult } from '../../test/harness.js';
import { ExpressionFailure, asString, evaluate, evaluateToken, truthy, truthyJson, type Json, type Scope, type Status } from './expressions.js';
import { standInAction, type ActionContext } from './uses.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The folder of recorded stand-ins put first on every job's PATH. */
export const STAND_INS = join(here, 'stand-ins');
/** Labels a job's runs-on may use: the suite's machines, plus the runner's own generic labels. */
export const SUITE_LABELS = ['wsl2', 'dgx', 'agx'];
const GENERIC_LABELS = ['self-hosted', 'linux', 'x64', 'arm64'];
/** The architecture each machine's runner reports (RUNNER_ARCH, runner.arch): WSL2 is x64, DGX Spark and Jetson AGX are arm64. */
export const MACHINE_ARCH: Record<string, string> = { wsl2: 'X64', dgx: 'ARM64', agx: 'ARM64' };
const SUITE_REPOSITORY = 'mlabs/mlabs-actions';

export type Event = 'workflow_dispatch' | 'schedule';
export type Outcome = 'success' | 'failure' | 'cancelled' | 'skipped';

export interface WorkflowRunOptions {
  /** The workflow file (any path). */
  file: string;
  event?: Event;
  inputs?: Record<string, string>;
  vars?: Record<string, string>;
  secrets?: Record<string, string>;
  /** Environment every step gets on top of the runner's (e.g. a sandbox's env). */
  env?: Record<string, string>;
  /** The repository the workflow runs in (github.repository). Default mlabs/platform. */
  repository?: string;
  /**
   * Kubeconfig text of each machine's own cluster by runner label (e.g. the sandbox's dgx and agx
   * minikube stand-ins): a job on that label finds it at ~/.kube/config, as on the machine.
   */
  machineKubeconfigs?: Record<string, string>;
  /**
   * Environment each machine's runner (by label) gives its jobs on top of `env`: what the machine's
   * runner container sets (scripts/runner-host's env file, e.g. MLABS_RUNNER_IMAGE_REF, MLABS_RUNNER_UPGRADE_DIR).
   */
  machineEnv?: Record<string, Record<string, string>>;
  /** Keep the run folder (workspaces, tool log) instead of removing it at the end. */
  keep?: boolean;
  /** Called as the run progresses (the CLI prints from it). */
  onEvent?: (e: RunEvent) => void;
}

export type RunEvent =
  | { type: 'job-start'; job: JobRecord }
  | { type: 'step-end'; job: JobRecord; step: StepRecord }
  | { type: 'job-end'; job: JobRecord };

export interface StepRecord {
  /** The step's id (generated ones start with `__`). */
  id: string;
  name: string;
  uses?: string;
  /** Before continue-on-error. */
  outcome: Outcome;
  /** After continue-on-error. */
  conclusion: Outcome;
  seconds: number;
  /** The log as the runner shows it: secrets and masked values replaced by ***. */
  log: string;
  outputs: Record<string, string>;
  summary: string;
  /** Why the step failed or was refused, when the runner knows. */
  error?: string;
  post?: boolean;
  /** A step that ran a stand-in rather than the real action. */
  standIn?: string;
  /** The recorded stand-in tools (terraform, docker ...) this step called, in order. */
  toolCalls: ToolCall[];
}

export interface JobRecord {
  id: string;
  /** Display name: `id` or `id (matrix values)`. */
  name: string;
  matrix?: Record<string, Json>;
  runsOn: string[];
  result: Outcome;
  outputs: Record<string, string>;
  steps: StepRecord[];
  summary: string;
  permissions: Record<string, string>;
  /** The job-level concurrency group, when it has one. */
  concurrency?: string;
  timeoutMinutes: number;
  /** The environment the job's steps started from, secrets masked (what the job saw). */
  oidc: boolean;
  error?: string;
}

export interface ToolCall {
  tool: string;
  args: string[];
  cwd: string;
}

export interface WorkflowRunResult {
  name: string;
  file: string;
  event: Event;
  /** cancelled: a newer run of its concurrency group arrived while it waited. */
  conclusion: 'success' | 'failure' | 'cancelled';
  /** Why the run failed (or was cancelled) before any job, when it did. */
  error?: string;
  inputs: Record<string, Json>;
  concurrency?: string;
  runId: number;
  jobs: JobRecord[];
  /** Every stand-in call, in order. */
  toolCalls: ToolCall[];
  /** The run folder (removed unless keep). */
  dir: string;
}

let nextRunId = 1000;
interface Waiter {
  cancelled: boolean;
  wake(): void;
}
interface Slot {
  pending?: Waiter;
  /** Aborts the run (or job) holding the group: a newer arrival with cancel-in-progress: true. */
  holder: AbortController;
}
const groups = new Map<string, Slot>();

export interface Held {
  release(): void;
  /** Aborted when a newer arrival of the group cancels this one in progress. */
  signal: AbortSignal;
}

/**
 * GitHub's concurrency, in this process: one holder of a group runs, at most one waits, and a newer
 * arrival cancels the waiting one. With cancel-in-progress: true the newer arrival also cancels the
 * holder (its signal aborts; it stops its running step and ends cancelled), then runs when it is done.
 * Resolves to the hold, or undefined when this waiter was cancelled.
 */
async function acquire(group: string | undefined, cancelInProgress = false): Promise<Held | undefined> {
  if (!group) return { release: () => undefined, signal: new AbortController().signal };
  const slot = groups.get(group);
  const hold = (held: Slot): Held => ({
    signal: held.holder.signal,
    release: () => {
      const next = held.pending;
      held.pending = undefined;
      held.holder = new AbortController();
      if (next) next.wake();
      else groups.delete(group);
    },
  });
  if (!slot) {
    const held: Slot = { holder: new AbortController() };
    groups.set(group, held);
    return hold(held);
  }
  if (slot.pending) {
    slot.pending.cancelled = true;
    slot.pending.wake();
  }
  if (cancelInProgress) slot.holder.abort();
  let wake!: () => void;
  const woken = new Promise<void>((r) => (wake = r));
  const me: Waiter = { cancelled: false, wake };
  slot.pending = me;
  await woken;
  return me.cancelled ? undefined : hold(slot);
}

/** cancel-in-progress of a concurrency token (a string group has none). */
function cancelInProgressOf(conc: TemplateToken | undefined, ctx: Record<string, Json>): boolean {
  if (conc === undefined || !isMapping(conc)) return false;
  const v = find(conc, 'cancel-in-progress');
  return v === undefined ? false : truthyJson(evaluateToken(v, ctx, ALWAYS));
}

function find(map: TemplateToken | undefined, key: string): TemplateToken | undefined {
  return map && isMapping(map) ? map.find(key) : undefined;
}

function jobToken(root: TemplateToken, id: string): TemplateToken | undefined {
  return find(find(root, 'jobs'), id);
}

function stepTokens(job: TemplateToken | undefined): TemplateToken[] {
  const steps = find(job, 'steps');
  const out: TemplateToken[] = [];
  if (steps && isSequence(steps)) for (let i = 0; i < steps.count; i++) out.push(steps.get(i));
  return out;
}

/** Parse and validate: GitHub's schema errors, or the normalized model and the raw token tree. */
export async function loadWorkflow(file: string): Promise<{ template: WorkflowTemplate; root: TemplateToken; name: string }> {
  const content = readFileSync(file, 'utf8');
  const parsed = parseWorkflow({ name: basename(file), content }, new NoOperationTraceWriter());
  const errors = parsed.context.errors.getErrors().map((e) => e.message);
  if (errors.length || !parsed.value) throw new WorkflowError(`${file} is not a valid workflow:\n  ${errors.join('\n  ')}`);
  const template = await convertWorkflowTemplate(parsed.context, parsed.value);
  if (template.errors?.length) throw new WorkflowError(`${file} is not a valid workflow:\n  ${template.errors.map((e) => e.Message).join('\n  ')}`);
  const nameTok = find(parsed.value, 'name');
  return { template, root: parsed.value, name: nameTok && isString(nameTok) ? nameTok.value : basename(file) };
}

export class WorkflowError extends Error {}

/** workflow_dispatch inputs as GitHub checks them: declared, typed, choice options, required. */
export function resolveInputs(template: WorkflowTemplate, event: Event, given: Record<string, string>): Record<string, Json> {
  const decl: Record<string, InputConfig> = template.events.workflow_dispatch?.inputs ?? {};
  if (event !== 'workflow_dispatch') {
    if (Object.keys(given).length) throw new WorkflowError(`--input is only for workflow_dispatch; this run is a ${event} event, where the inputs context is empty`);
    return {};
  }
  if (!template.events.workflow_dispatch) throw new WorkflowError('the workflow has no workflow_dispatch trigger, so it cannot be dispatched');
  const problems: string[] = [];
  for (const name of Object.keys(given)) {
    if (!(name in decl)) problems.push(`input '${name}' is not declared (declared: ${Object.keys(decl).join(', ') || 'none'})`);
  }
  const out: Record<string, Json> = {};
  for (const [name, spec] of Object.entries(decl)) {
    const raw = given[name] ?? (spec.default === undefined ? undefined : String(spec.default));
    if (raw === undefined || raw === '') {
      if (spec.required) problems.push(`input '${name}' is required and has no default`);
      out[name] = spec.type === 'boolean' ? false : '';
      continue;
    }
    if (spec.type === 'boolean') {
      if (raw !== 'true' && raw !== 'false') problems.push(`input '${name}' is '${raw}'; a boolean input accepts true or false`);
      out[name] = raw === 'true';
    } else if (spec.type === 'choice') {
      if (!(spec.options ?? []).includes(raw)) problems.push(`input '${name}' is '${raw}'; accepted: ${(spec.options ?? []).join(', ')}`);
      out[name] = raw;
    } else out[name] = raw;
  }
  if (problems.length) throw new WorkflowError(`the workflow_dispatch inputs are wrong, no job ran:\n  ${problems.join('\n  ')}`);
  return out;
}

/** strategy.matrix: the cartesian product, less `exclude`, plus `include` as GitHub merges it. */
export function expandMatrix(matrix: Json): Record<string, Json>[] {
  if (matrix === null || typeof matrix !== 'object' || Array.isArray(matrix)) return [];
  const { include, exclude, ...axes } = matrix as Record<string, Json>;
  let legs: Record<string, Json>[] = Object.keys(axes).length ? [{}] : [];
  for (const [key, values] of Object.entries(axes)) {
    const list = Array.isArray(values) ? values : [values];
    legs = legs.flatMap((leg) => list.map((v) => ({ ...leg, [key]: v })));
  }
  const matches = (leg: Record<string, Json>, partial: Record<string, Json>): boolean =>
    Object.entries(partial).every(([k, v]) => JSON.stringify(leg[k]) === JSON.stringify(v));
  for (const ex of Array.isArray(exclude) ? exclude : []) {
    if (ex && typeof ex === 'object' && !Array.isArray(ex)) legs = legs.filter((leg) => !matches(leg, ex));
  }
  const original = legs.map((l) => ({ ...l }));
  for (const inc of Array.isArray(include) ? include : []) {
    if (!inc || typeof inc !== 'object' || Array.isArray(inc)) continue;
    let merged = false;
    original.forEach((orig, i) => {
      const leg = legs[i] as Record<string, Json>;
      // An include entry extends every original combination it does not contradict.
      if (Object.entries(inc).every(([k, v]) => !(k in orig) || JSON.stringify(orig[k]) === JSON.stringify(v))) {
        Object.assign(leg, inc);
        merged = true;
      }
    });
    if (!merged) legs.push({ ...inc });
  }
  return legs;
}

function order(jobs: WorkflowJob[]): WorkflowJob[] {
  const byId = new Map(jobs.map((j) => [j.id.value, j]));
  const done = new Set<string>();
  const out: WorkflowJob[] = [];
  const visit = (j: WorkflowJob, path: string[]): void => {
    if (done.has(j.id.value)) return;
    if (path.includes(j.id.value)) throw new WorkflowError(`jobs depend on each other in a cycle: ${[...path, j.id.value].join(' -> ')}`);
    for (const n of j.needs ?? []) {
      const dep = byId.get(n.value);
      if (!dep) throw new WorkflowError(`job '${j.id.value}' needs '${n.value}', which is not a job of this workflow`);
      visit(dep, [...path, j.id.value]);
    }
    done.add(j.id.value);
    out.push(j);
  };
  for (const j of jobs) visit(j, []);
  return out;
}

function permissionsOf(token: TemplateToken | undefined, fallback: Record<string, string>): Record<string, string> {
  if (token === undefined) return fallback;
  if (isString(token)) {
    const level = token.value === 'write-all' ? 'write' : token.value === 'read-all' ? 'read' : 'none';
    return Object.fromEntries(['actions', 'contents', 'id-token', 'issues', 'packages', 'pull-requests'].map((k) => [k, k === 'id-token' && level === 'read' ? 'none' : level]));
  }
  const out: Record<string, string> = {};
  if (isMapping(token)) {
    for (let i = 0; i < token.count; i++) {
      const { key, value } = token.get(i);
      if (isString(value)) out[String(key)] = value.value;
    }
  }
  return out;
}

/** GitHub's token permission names for the `permissions:` keys (id-token is not a token permission). */
const TOKEN_PERMISSION = (key: string): string | undefined => (key === 'id-token' ? undefined : key.replace(/-/g, '_'));

/**
 * The job's GITHUB_TOKEN, as GitHub's Actions service gives each job: an installation token of the
 * Actions app scoped to this repository with exactly the job's `permissions:` (plus metadata: read),
 * minted by the sandbox's GitHub API with the runner's token. Without a sandbox GitHub API (no
 * GITHUB_API_URL or runner token), the GITHUB_TOKEN secret given to the run.
 */
async function mintJobToken(rs: RunState, permissions: Record<string, string>): Promise<string> {
  const api = rs.opts.env?.GITHUB_API_URL;
  const runnerToken = rs.opts.env?.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!api || !runnerToken) return rs.secrets.GITHUB_TOKEN ?? '';
  const wanted: Record<string, string> = {};
  for (const [k, v] of Object.entries(permissions)) {
    const name = TOKEN_PERMISSION(k);
    if (name && (v === 'read' || v === 'write')) wanted[name] = v;
  }
  const repository = rs.opts.repository ?? 'mlabs/platform';
  const res = await fetch(`${api}/app/installations/1/access_tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${runnerToken}`, accept: 'application/vnd.github+json', 'content-type': 'application/json' },
    body: JSON.stringify({ repositories: [repository.split('/')[1] ?? repository], permissions: wanted }),
  });
  const body = (await res.json().catch(() => ({}))) as { token?: string; message?: string };
  if (res.status !== 201 || !body.token) throw new Error(`the job's GITHUB_TOKEN could not be minted (${res.status} ${body.message ?? ''}) for permissions ${JSON.stringify(wanted)}`);
  rs.masks.push(body.token);
  return body.token;
}

/** The log as the Actions tab shows it: no ::add-mask:: or ::debug:: lines, annotations as `Error: ...`. */
function shownLog(text: string, secrets: string[]): string {
  const lines = text.split('\n').filter((l) => !/^::(add-mask|debug)(?: [^:]*)?::/.test(l));
  const shown = lines.map((l) => {
    const m = /^::(error|warning|notice)(?: [^:]*)?::(.*)$/.exec(l);
    return m ? `${(m[1] as string).charAt(0).toUpperCase()}${(m[1] as string).slice(1)}: ${(m[2] as string).replace(/%0A/g, '\n').replace(/%25/g, '%')}` : l;
  });
  return maskAll(shown.join('\n'), secrets);
}

function maskAll(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 3) out = out.split(s).join('***');
  return out;
}

const shellCommand = (shell: string | undefined, script: string): [string, string[]] => {
  // GitHub: shell unset on Linux = `bash -e {0}`; `shell: bash` = `bash --noprofile --norc -eo pipefail {0}`.
  if (shell === undefined) return ['bash', ['-e', script]];
  if (shell === 'bash') return ['bash', ['--noprofile', '--norc', '-eo', 'pipefail', script]];
  if (shell === 'sh') return ['sh', ['-e', script]];
  if (shell === 'python') return ['python3', [script]];
  const parts = shell.split(/\s+/).filter(Boolean);
  if (!parts.some((p) => p.includes('{0}'))) parts.push('{0}');
  return [parts[0] as string, parts.slice(1).map((p) => p.replace('{0}', script))];
};

function copyRepository(dest: string): void {
  mkdirSync(dest, { recursive: true });
  cpSync(ROOT, dest, {
    recursive: true,
    filter: (src) => {
      const rel = src.slice(ROOT.length + 1).split('/')[0];
      return rel !== 'node_modules' && rel !== '.git';
    },
  });
}

interface RunState {
  opts: WorkflowRunOptions;
  dir: string;
  name: string;
  event: Event;
  runId: number;
  inputs: Record<string, Json>;
  vars: Record<string, string>;
  secrets: Record<string, string>;
  workflowEnv: TemplateToken | undefined;
  root: TemplateToken;
  toolLog: string;
  artifacts: string;
  jobs: Map<string, { result: Outcome; outputs: Record<string, string>; declared: string[] }>;
  permissions: Record<string, string>;
  masks: string[];
  group?: string;
  /** The first schedule's cron, github.event.schedule of a schedule run. */
  cron?: string;
  /** Aborted when a newer run of the group cancels this one in progress. */
  signal?: AbortSignal;
}

function githubContext(rs: RunState, jobId: string, workspace: string, token = rs.secrets.GITHUB_TOKEN ?? ''): Record<string, Json> {
  const repository = rs.opts.repository ?? 'mlabs/platform';
  const eventInputs = Object.fromEntries(Object.entries(rs.inputs).map(([k, v]) => [k, asString(v)]));
  const event: Record<string, Json> = {
    repository: { full_name: repository, default_branch: 'main', name: repository.split('/')[1] ?? repository },
    ...(rs.event === 'workflow_dispatch' ? { inputs: eventInputs } : { schedule: rs.cron ?? '' }),
  };
  return {
    event_name: rs.event,
    event,
    repository,
    repository_owner: repository.split('/')[0] ?? repository,
    ref: 'refs/heads/main',
    ref_name: 'main',
    ref_type: 'branch',
    sha: '0123456789abcdef0123456789abcdef01234567',
    run_id: String(rs.runId),
    run_number: String(rs.runId - 999),
    run_attempt: '1',
    workflow: rs.name,
    actor: 'octocat',
    triggering_actor: 'octocat',
    server_url: 'https://github.com',
    api_url: rs.opts.env?.GITHUB_API_URL ?? 'https://api.github.com',
    token,
    workspace,
    job: jobId,
    action: '',
  };
}

const parseToolCalls = (jsonl: string): ToolCall[] =>
  jsonl
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ToolCall);

/** Run a workflow file to the end. Never throws for a failing workflow: the result says why. */
export async function runWorkflow(opts: WorkflowRunOptions): Promise<WorkflowRunResult> {
  const event = opts.event ?? 'workflow_dispatch';
  const runId = nextRunId++;
  const dir = mkdtempSync(join(tmpdir(), 'mlabs-workflow-'));
  const result: WorkflowRunResult = { name: basename(opts.file), file: opts.file, event, conclusion: 'failure', inputs: {}, runId, jobs: [], toolCalls: [], dir };
  const toolLog = join(dir, 'tool-calls.jsonl');
  writeFileSync(toolLog, '');
  try {
    const { template, root, name } = await loadWorkflow(opts.file);
    result.name = name;
    if (event === 'schedule' && !template.events.schedule) throw new WorkflowError('the workflow has no schedule trigger');
    const inputs = resolveInputs(template, event, opts.inputs ?? {});
    result.inputs = inputs;
    const secrets = { ...(opts.secrets ?? {}) };
    const rs: RunState = {
      opts,
      dir,
      name,
      event,
      runId,
      inputs,
      vars: opts.vars ?? {},
      secrets,
      workflowEnv: template.env,
      cron: template.events.schedule?.[0]?.cron,
      root,
      toolLog,
      artifacts: join(dir, 'artifacts'),
      jobs: new Map(),
      permissions: permissionsOf(find(root, 'permissions'), { contents: 'read', packages: 'read' }),
      masks: Object.values(secrets).filter(Boolean),
    };
    const conc = find(root, 'concurrency');
    const base = { github: githubContext(rs, '', ''), inputs, vars: rs.vars };
    const group = conc === undefined ? undefined : evaluateToken(isString(conc) || !isMapping(conc) ? conc : find(conc, 'group'), base, ALWAYS);
    result.concurrency = group === undefined ? undefined : asString(group);
    rs.group = result.concurrency;
    const jobs = order(template.jobs);
    const held = await acquire(result.concurrency, cancelInProgressOf(conc, base));
    if (!held) {
      result.conclusion = 'cancelled';
      result.error = `a newer run of concurrency group ${result.concurrency} arrived while this one waited: cancelled, as GitHub does`;
      return result;
    }
    rs.signal = held.signal;
    try {
      for (const job of jobs) {
        if (held.signal.aborted) {
          const id = job.id.value;
          result.jobs.push({ id, name: id, runsOn: [], result: 'cancelled', outputs: {}, steps: [], summary: '', permissions: {}, timeoutMinutes: 0, oidc: false, error: 'the run was cancelled before this job started' });
          continue;
        }
        for (const rec of await runJob(rs, job)) result.jobs.push(rec);
      }
    } finally {
      held.release();
    }
    result.conclusion = held.signal.aborted ? 'cancelled' : result.jobs.every((j) => j.result === 'success' || j.result === 'skipped') ? 'success' : 'failure';
    if (held.signal.aborted) result.error = `a newer run of concurrency group ${result.concurrency} arrived with cancel-in-progress: this run was cancelled in progress, as GitHub does`;
  } catch (err) {
    if (!(err instanceof WorkflowError || err instanceof ExpressionFailure)) throw err;
    result.error = err.message;
    result.conclusion = 'failure';
  } finally {
    result.toolCalls = parseToolCalls(readFileSync(toolLog, 'utf8'));
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

const ALWAYS: Status = { success: true, failure: false, cancelled: false };

async function runJob(rs: RunState, job: WorkflowJob): Promise<JobRecord[]> {
  const id = job.id.value;
  const needs = (job.needs ?? []).map((n) => n.value);
  const needResults = needs.map((n) => rs.jobs.get(n));
  const needsCtx: Record<string, Json> = {};
  const needsScope: Record<string, string[]> = {};
  for (const n of needs) {
    const r = rs.jobs.get(n);
    needsCtx[n] = { result: r?.result ?? 'skipped', outputs: r?.outputs ?? {} };
    needsScope[n] = r?.declared ?? [];
  }
  const jobStatus: Status = {
    success: needResults.every((r) => r?.result === 'success'),
    failure: needResults.some((r) => r?.result === 'failure' || r?.result === 'cancelled'),
    cancelled: false,
  };
  const raw = jobToken(rs.root, id);
  const declared: string[] = [];
  if (job.outputs) for (let i = 0; i < job.outputs.count; i++) declared.push(String(job.outputs.get(i).key));
  const skipped = (error?: string): JobRecord[] => {
    const rec: JobRecord = { id, name: id, runsOn: [], result: error ? 'failure' : 'skipped', outputs: {}, steps: [], summary: '', permissions: {}, timeoutMinutes: 0, oidc: false, ...(error ? { error } : {}) };
    rs.jobs.set(id, { result: rec.result, outputs: {}, declared });
    rs.opts.onEvent?.({ type: 'job-end', job: rec });
    return [rec];
  };
  if (job.type !== 'job') return skipped(`job '${id}' calls a reusable workflow, which this runner does not run`);
  const ctx0: Record<string, Json> = { github: githubContext(rs, id, ''), inputs: rs.inputs, vars: rs.vars, secrets: rs.secrets, needs: needsCtx };
  const scope0: Scope = { needs: needsScope };
  let run: boolean;
  try {
    run = truthy(evaluate(job.if.expression, ctx0, jobStatus, scope0));
  } catch (err) {
    return skipped(`job '${id}' if: ${(err as Error).message}`);
  }
  if (!run) return skipped();

  let legs: (Record<string, Json> | undefined)[] = [undefined];
  let failFast = true;
  if (job.strategy) {
    try {
      const strategy = evaluateToken(job.strategy, ctx0, jobStatus, scope0) as Record<string, Json>;
      if (strategy?.matrix !== undefined) legs = expandMatrix(strategy.matrix);
      if (strategy?.['fail-fast'] === false) failFast = false;
      if (legs.length === 0) return skipped(`job '${id}': strategy.matrix has no combination`);
    } catch (err) {
      return skipped(`job '${id}' strategy: ${(err as Error).message}`);
    }
  }
  const records: JobRecord[] = [];
  let outputs: Record<string, string> = {};
  for (const [i, matrix] of legs.entries()) {
    if (failFast && records.some((r) => r.result === 'failure')) {
      const name = matrix ? `${id} (${Object.values(matrix).map(asString).join(', ')})` : id;
      records.push({ id, name, matrix, runsOn: [], result: 'cancelled', outputs: {}, steps: [], summary: '', permissions: {}, timeoutMinutes: 0, oidc: false });
      continue;
    }
    const strategyCtx = { 'fail-fast': failFast, 'job-index': i, 'job-total': legs.length, 'max-parallel': 1 };
    const rec = await runJobInstance(rs, job, raw, { ...ctx0, matrix: matrix ?? {}, strategy: strategyCtx }, scope0, matrix);
    records.push(rec);
    outputs = { ...outputs, ...rec.outputs };
  }
  const result: Outcome = records.some((r) => r.result === 'failure') ? 'failure' : records.some((r) => r.result === 'cancelled') ? 'cancelled' : 'success';
  rs.jobs.set(id, { result, outputs, declared });
  return records;
}

interface PendingPost {
  step: Step;
  name: string;
  entry: string;
  inputs: Record<string, string>;
  state: Record<string, string>;
}

async function runJobInstance(
  rs: RunState,
  job: Job,
  raw: TemplateToken | undefined,
  ctx: Record<string, Json>,
  scope0: Scope,
  matrix: Record<string, Json> | undefined,
): Promise<JobRecord> {
  const id = job.id.value;
  const name = matrix ? `${id} (${Object.values(matrix).map(asString).join(', ')})` : id;
  const jobDir = mkdtempSync(join(rs.dir, `${id}-`));
  const workspace = join(jobDir, 'workspace');
  const runnerTemp = join(jobDir, 'temp');
  mkdirSync(workspace, { recursive: true });
  mkdirSync(runnerTemp, { recursive: true });
  const rec: JobRecord = { id, name, matrix, runsOn: [], result: 'success', outputs: {}, steps: [], summary: '', permissions: {}, timeoutMinutes: 360, oidc: false };
  const fail = (error: string): JobRecord => {
    rec.result = 'failure';
    rec.error = error;
    rs.opts.onEvent?.({ type: 'job-end', job: rec });
    return rec;
  };
  rec.permissions = permissionsOf(find(raw, 'permissions'), rs.permissions);
  rec.oidc = rec.permissions['id-token'] === 'write';
  let jobToken: string;
  try {
    jobToken = await mintJobToken(rs, rec.permissions);
  } catch (err) {
    return fail(`job '${name}': ${(err as Error).message}`);
  }
  ctx = { ...ctx, secrets: { ...rs.secrets, GITHUB_TOKEN: jobToken }, github: githubContext(rs, id, workspace, jobToken), runner: { os: 'Linux', arch: 'X64', name: 'sandbox-runner', temp: runnerTemp, tool_cache: join(jobDir, 'toolcache'), environment: 'self-hosted' } };
  const env: Record<string, string> = {};
  let concurrency: string | undefined;
  try {
    const runsOn = evaluateToken(job['runs-on'], ctx, ALWAYS, scope0);
    const labels = (Array.isArray(runsOn) ? runsOn : runsOn && typeof runsOn === 'object' ? ((runsOn as Record<string, Json>).labels ?? []) : [runsOn]) as Json[];
    rec.runsOn = (Array.isArray(labels) ? labels : [labels]).map(asString);
    const unknown = rec.runsOn.filter((l) => !SUITE_LABELS.includes(l) && !GENERIC_LABELS.includes(l.toLowerCase()));
    if (unknown.length || !rec.runsOn.some((l) => SUITE_LABELS.includes(l))) {
      return fail(`runs-on [${rec.runsOn.join(', ')}] names no runner of the suite: a job runs on self-hosted plus one of ${SUITE_LABELS.join(', ')}`);
    }
    for (const [k, v] of Object.entries((evaluateToken(rs.workflowEnv, ctx, ALWAYS, scope0) ?? {}) as Record<string, Json>)) env[k] = asString(v);
    ctx.env = { ...env };
    for (const [k, v] of Object.entries((evaluateToken(job.env, ctx, ALWAYS, scope0) ?? {}) as Record<string, Json>)) env[k] = asString(v);
    ctx.env = { ...env };
    const timeout = evaluateToken(find(raw, 'timeout-minutes'), ctx, ALWAYS, scope0);
    if (timeout !== null) rec.timeoutMinutes = Number(timeout);
    if (job.concurrency) {
      const c = evaluateToken(job.concurrency, ctx, ALWAYS, scope0);
      concurrency = asString(c !== null && typeof c === 'object' && !Array.isArray(c) ? (c.group ?? '') : c);
      rec.concurrency = concurrency;
    }
  } catch (err) {
    return fail(`job '${name}': ${(err as Error).message}`);
  }
  const arch = MACHINE_ARCH[rec.runsOn.find((l) => SUITE_LABELS.includes(l)) ?? 'wsl2'] ?? 'X64';
  ctx.runner = { ...(ctx.runner as Record<string, Json>), arch };
  const continueOnError = truthyJson(evaluateToken(find(raw, 'continue-on-error'), ctx, ALWAYS, scope0));
  const held = await acquire(concurrency === rs.group ? undefined : concurrency, cancelInProgressOf(job.concurrency, ctx));
  if (!held) {
    rec.result = 'cancelled';
    rec.error = `a newer job of concurrency group ${concurrency} arrived while this one waited`;
    rs.opts.onEvent?.({ type: 'job-end', job: rec });
    return rec;
  }
  const signal = rs.signal ? AbortSignal.any([rs.signal, held.signal]) : held.signal;
  try {
    return await runSteps(rs, job, raw, ctx, scope0, rec, { jobDir, workspace, runnerTemp, env, continueOnError, signal });
  } finally {
    held.release();
  }
}

interface JobPlace {
  jobDir: string;
  workspace: string;
  runnerTemp: string;
  env: Record<string, string>;
  continueOnError: boolean;
  /** Aborted when the run or job is cancelled in progress (concurrency cancel-in-progress). */
  signal: AbortSignal;
}

async function runSteps(rs: RunState, job: Job, raw: TemplateToken | undefined, ctx: Record<string, Json>, scope0: Scope, rec: JobRecord, place: JobPlace): Promise<JobRecord> {
  const { jobDir, workspace, runnerTemp, env, continueOnError, signal } = place;
  const id = job.id.value;
  const name = rec.name;
  const status: Status = { success: true, failure: false, cancelled: false };
  rs.opts.onEvent?.({ type: 'job-start', job: rec });

  const defaults = find(find(raw, 'defaults'), 'run') ?? find(find(rs.root, 'defaults'), 'run');
  const defaultShell = find(defaults, 'shell');
  const defaultWd = find(defaults, 'working-directory');

  const tools = { ...(rs.opts.env ?? {}) };
  if (!rec.oidc) {
    delete tools.ACTIONS_ID_TOKEN_REQUEST_URL;
    delete tools.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  }
  const onMachine = rec.runsOn.find((l) => rs.opts.machineEnv?.[l] !== undefined);
  const base: Record<string, string> = {
    ...runnerBaseEnv(workspace, runnerTemp),
    ...tools,
    ...(onMachine ? rs.opts.machineEnv?.[onMachine] : {}),
    PATH: `${STAND_INS}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: join(jobDir, 'home'),
    CLOUDSDK_CONFIG: join(jobDir, 'gcloud'),
    KUBECONFIG: join(jobDir, 'home', '.kube', 'config'),
    MLABS_STAND_IN_LOG: rs.toolLog,
    GITHUB_REPOSITORY: asString((ctx.github as Record<string, Json>).repository ?? ''),
    GITHUB_REPOSITORY_OWNER: asString((ctx.github as Record<string, Json>).repository_owner ?? ''),
    GITHUB_RUN_ID: String(rs.runId),
    GITHUB_RUN_NUMBER: String(rs.runId - 999),
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_WORKFLOW: rs.name,
    GITHUB_JOB: id,
    GITHUB_EVENT_NAME: rs.event,
    GITHUB_REF_NAME: 'main',
    RUNNER_TOOL_CACHE: join(jobDir, 'toolcache'),
    RUNNER_ARCH: asString((ctx.runner as Record<string, Json>).arch ?? 'X64'),
  };
  mkdirSync(join(jobDir, 'home', '.kube'), { recursive: true });
  const machine = rec.runsOn.find((l) => rs.opts.machineKubeconfigs?.[l] !== undefined);
  if (machine) writeFileSync(base.KUBECONFIG as string, rs.opts.machineKubeconfigs?.[machine] as string, { mode: 0o600 });
  const eventFile = join(jobDir, 'event.json');
  writeFileSync(eventFile, JSON.stringify((ctx.github as Record<string, Json>).event));
  base.GITHUB_EVENT_PATH = eventFile;

  const exported: Record<string, string> = {};
  const paths: string[] = [];
  const stepsCtx: Record<string, Json> = {};
  const stepsScope: Record<string, string[] | undefined> = {};
  for (const s of job.steps) stepsScope[s.id] = undefined;
  const posts: PendingPost[] = [];
  const deadline = Date.now() + rec.timeoutMinutes * 60_000;
  const rawSteps = stepTokens(raw);

  const stepEnvBase = (): Record<string, string> => ({
    ...base,
    ...env,
    ...exported,
    PATH: [...paths].reverse().concat(base.PATH as string).join(':'),
  });

  for (const [index, step] of job.steps.entries()) {
    if (signal.aborted) status.cancelled = true;
    // The steps that still run after a cancellation (always(), cancelled()) run to their end, as on GitHub.
    const stepSignal = status.cancelled ? undefined : signal;
    const rawStep = rawSteps[index];
    const started = Date.now();
    const toolLogBefore = readFileSync(rs.toolLog).length;
    const display = step.name ? safeString(step.name, ctx, scope0) : 'run' in step ? `Run ${firstLine(step.run)}` : 'uses' in step ? `Run ${step.uses.value}` : step.id;
    const srec: StepRecord = { id: step.id, name: display, outcome: 'skipped', conclusion: 'skipped', seconds: 0, log: '', outputs: {}, summary: '', toolCalls: [] };
    if ('uses' in step) srec.uses = step.uses.value;
    const scope: Scope = { needs: scope0.needs, steps: stepsScope };
    const sctx: Record<string, Json> = { ...ctx, steps: stepsCtx, job: { status: status.cancelled ? 'cancelled' : status.failure ? 'failure' : 'success' } };
    let stepContinue = false;
    try {
      const cond = 'if' in step && step.if ? step.if.expression : 'success()';
      if (!truthy(evaluate(cond, sctx, status, scope))) {
        stepsCtx[step.id] = { outputs: {}, outcome: 'skipped', conclusion: 'skipped' };
        rec.steps.push(srec);
        rs.opts.onEvent?.({ type: 'step-end', job: rec, step: srec });
        continue;
      }
      const coe = step['continue-on-error'];
      stepContinue = typeof coe === 'boolean' ? coe : coe !== undefined ? truthyJson(evaluateToken(coe, sctx, status, scope)) : false;
      const stepEnv: Record<string, string> = {};
      for (const [k, v] of Object.entries((evaluateToken('env' in step ? step.env : undefined, { ...sctx, env: { ...env, ...exported } }, status, scope) ?? {}) as Record<string, Json>)) {
        stepEnv[k] = asString(v);
      }
      const envCtx = { ...env, ...exported, ...stepEnv };
      const ectx = { ...sctx, env: envCtx };
      const stepTimeout = evaluateToken(find(rawStep, 'timeout-minutes'), ectx, status, scope);
      // After the job's timeout cancelled it, the steps that still run (cancelled(), always()) get five minutes, as on GitHub.
      const remaining = status.cancelled ? 5 * 60_000 : Math.max(1, deadline - Date.now());
      const timeoutMs = stepTimeout === null ? remaining : Math.min(remaining, Number(stepTimeout) * 60_000);
      let res: (StepResult & { timedOut?: boolean }) | undefined;
      const stepDir = mkdtempSync(join(jobDir, 'step-'));
      const stepBase = { ...stepEnvBase(), ...stepEnv };
      if ('run' in step) {
        const script = asString(evaluateToken(step.run, ectx, status, scope));
        const shellTok = find(rawStep, 'shell') ?? defaultShell;
        const shell = shellTok === undefined ? undefined : asString(evaluateToken(shellTok, ectx, status, scope));
        const wdTok = find(rawStep, 'working-directory') ?? defaultWd;
        const wd = wdTok === undefined ? workspace : resolve(workspace, asString(evaluateToken(wdTok, ectx, status, scope)));
        const scriptFile = join(runnerTemp, `${step.id.replace(/[^\w-]/g, '_')}-${index}.sh`);
        writeFileSync(scriptFile, script);
        const [cmd, args] = shellCommand(shell, scriptFile);
        if (!existsSync(wd)) throw new ExpressionFailure(`working-directory ${wd} does not exist`);
        res = await runCommandStep(cmd, args, stepBase, wd, { dir: stepDir, timeoutMs, interleave: true, ...(stepSignal ? { signal: stepSignal } : {}) });
      } else if ('uses' in step) {
        const uses = step.uses.value;
        const withValues: Record<string, string> = {};
        for (const [k, v] of Object.entries((evaluateToken(find(rawStep, 'with'), ectx, status, scope) ?? {}) as Record<string, Json>)) withValues[k] = asString(v);
        const actionDir = suiteActionDir(uses, workspace);
        if (actionDir) {
          const yml = readActionYaml(actionDir);
          const inputs = inputEnv(yml, withValues);
          res = await runStep(join(actionDir, yml.runs?.main ?? 'dist/index.js'), { ...stepBase, ...inputs }, workspace, { dir: stepDir, timeoutMs, interleave: true, ...(stepSignal ? { signal: stepSignal } : {}) });
          if (yml.runs?.post) posts.push({ step, name: display, entry: join(actionDir, yml.runs.post), inputs, state: res.state });
        } else {
          const actx: ActionContext = { uses, with: withValues, env: stepBase, workspace, dir: stepDir, artifacts: rs.artifacts, root: ROOT, suiteRepository: SUITE_REPOSITORY, copyRepository, timeoutMs, githubToken: asString((ctx.secrets as Record<string, Json>).GITHUB_TOKEN ?? '') };
          const handled = await standInAction(actx);
          res = handled.result;
          srec.standIn = handled.standIn;
        }
      }
      if (!res) throw new ExpressionFailure('the step has neither run nor uses');
      rs.masks.push(...res.masks);
      srec.log = shownLog(res.log + res.stderr, rs.masks);
      srec.outputs = res.outputs;
      srec.summary = maskAll(res.summary, rs.masks);
      Object.assign(exported, res.exportedEnv);
      paths.push(...res.paths);
      srec.outcome = res.exitCode === 0 ? 'success' : 'failure';
      if (stepSignal?.aborted && res.exitCode !== 0) {
        srec.outcome = 'cancelled';
        srec.error = 'the run was cancelled (a newer run of its concurrency group, cancel-in-progress) and the step stopped';
        status.cancelled = true;
      } else if (res.timedOut) {
        srec.outcome = 'failure';
        srec.error = `the step ran past its timeout and was stopped`;
        status.cancelled = Date.now() >= deadline;
      } else if (res.exitCode !== 0) {
        srec.error = res.annotations.find((a) => a.level === 'error')?.message ?? `exited with code ${res.exitCode}`;
      }
    } catch (err) {
      if (!(err instanceof ExpressionFailure)) throw err;
      srec.outcome = 'failure';
      srec.error = `step '${display}': ${err.message}`;
      srec.log += `::error::${srec.error}\n`;
    }
    srec.conclusion = srec.outcome === 'failure' && stepContinue ? 'success' : srec.outcome;
    if (srec.conclusion === 'failure') {
      status.success = false;
      status.failure = true;
    }
    srec.seconds = (Date.now() - started) / 1000;
    srec.toolCalls = parseToolCalls(readFileSync(rs.toolLog).subarray(toolLogBefore).toString('utf8'));
    stepsCtx[step.id] = { outputs: srec.outputs, outcome: srec.outcome, conclusion: srec.conclusion };
    stepsScope[step.id] = srec.outcome === 'success' ? Object.keys(srec.outputs) : undefined;
    rec.summary += srec.summary;
    rec.steps.push(srec);
    rs.opts.onEvent?.({ type: 'step-end', job: rec, step: srec });
  }

  for (const post of posts.reverse()) {
    const started = Date.now();
    const res = await runStep(post.entry, { ...stepEnvBase(), ...post.inputs, ...stateEnv(post.state) }, workspace, { dir: mkdtempSync(join(jobDir, 'post-')), interleave: true });
    rs.masks.push(...res.masks);
    const srec: StepRecord = {
      id: post.step.id,
      name: `Post ${post.name}`,
      uses: 'uses' in post.step ? post.step.uses.value : undefined,
      outcome: res.exitCode === 0 ? 'success' : 'failure',
      conclusion: res.exitCode === 0 ? 'success' : 'failure',
      seconds: (Date.now() - started) / 1000,
      log: shownLog(res.log + res.stderr, rs.masks),
      outputs: {},
      summary: maskAll(res.summary, rs.masks),
      post: true,
      toolCalls: [],
    };
    if (res.exitCode !== 0) {
      srec.error = res.annotations.find((a) => a.level === 'error')?.message ?? `exited with code ${res.exitCode}`;
      status.failure = true;
      status.success = false;
    }
    rec.summary += srec.summary;
    rec.steps.push(srec);
    rs.opts.onEvent?.({ type: 'step-end', job: rec, step: srec });
  }

  if (job.outputs) {
    const octx = { ...ctx, env, steps: stepsCtx };
    for (let i = 0; i < job.outputs.count; i++) {
      const { key, value } = job.outputs.get(i);
      try {
        rec.outputs[String(key)] = asString(evaluateToken(value, octx, ALWAYS, { needs: scope0.needs, steps: stepsScope }));
      } catch (err) {
        status.failure = true;
        rec.error = `job '${name}' output '${String(key)}': ${(err as Error).message}`;
      }
    }
  }
  rec.result = status.cancelled ? 'cancelled' : status.failure ? (continueOnError ? 'success' : 'failure') : 'success';
  rs.opts.onEvent?.({ type: 'job-end', job: rec });
  return rec;
}

function safeString(token: TemplateToken, ctx: Record<string, Json>, scope: Scope): string {
  try {
    return asString(evaluateToken(token, ctx, ALWAYS, scope));
  } catch {
    return String(token);
  }
}

function firstLine(token: TemplateToken): string {
  const text = isString(token) ? token.value : ((token as { source?: string }).source ?? String(token));
  return text.split('\n')[0] ?? '';
}

/** `mlabs/mlabs-actions/actions/NAME@ref` or `./actions/NAME`: the folder holding its action.yml. */
function suiteActionDir(uses: string, workspace: string): string | undefined {
  const m = /^mlabs\/mlabs-actions\/(actions\/[\w-]+)@[\w.-]+$/.exec(uses);
  if (m) return join(ROOT, m[1] as string);
  if (uses.startsWith('./')) {
    const inWorkspace = join(workspace, uses);
    if (existsSync(join(inWorkspace, 'action.yml'))) return inWorkspace;
    const inRoot = join(ROOT, uses);
    if (existsSync(join(inRoot, 'action.yml'))) return inRoot;
    throw new ExpressionFailure(`uses: ${uses}: no action.yml there (check out the repository first)`);
  }
  if (isAbsolute(uses)) return undefined;
  return undefined;
}
