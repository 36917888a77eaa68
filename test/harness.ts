/**
 * Runs an action the way the GitHub runner does: a child `node` process on the
 * action's bundle with INPUT_* variables (defaults from action.yml), fresh
 * GITHUB_OUTPUT/STATE/ENV/PATH/STEP_SUMMARY files, RUNNER_TEMP and a workspace;
 * then, when action.yml declares `post`, the post step with the saved state and
 * the environment the main step exported.
 *
 * The child is spawned asynchronously so a sandbox running in the test's own
 * process keeps answering.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface RunOptions {
  inputs?: Record<string, string | number | boolean>;
  /** Extra environment for both steps (e.g. a sandbox's env). */
  env?: Record<string, string | undefined>;
  /** Entry file; default `actions/<name>/dist/index.js`. A `.ts` entry runs through tsx. */
  entry?: string;
  /** Directory holding action.yml; default `actions/<name>`. */
  actionDir?: string;
  /**
   * Pass action.yml's defaults as INPUT_* variables, as the runner does (default true). false runs the
   * action as by hand: only the inputs given here are set, the rest are absent.
   */
  runnerDefaults?: boolean;
  /** Run the post step when action.yml has one (default true). */
  post?: boolean;
  /** Reuse a workspace / temp directory (e.g. to re-run an action in the same job). */
  workspace?: string;
  runnerTemp?: string;
  /** Aborting kills the main step (and its children), as a cancelled job or a lost runner does. */
  signal?: AbortSignal;
}

export interface Annotation {
  level: 'error' | 'warning' | 'notice' | 'debug';
  message: string;
}

export interface StepResult {
  exitCode: number;
  /** Raw stdout, before the runner's masking. */
  stdout: string;
  stderr: string;
  /** The log as the runner would show it: masked values replaced by ***. */
  log: string;
  outputs: Record<string, string>;
  exportedEnv: Record<string, string>;
  paths: string[];
  state: Record<string, string>;
  summary: string;
  masks: string[];
  annotations: Annotation[];
}

export interface ActionRun {
  main: StepResult;
  post?: StepResult;
  outputs: Record<string, string>;
  exportedEnv: Record<string, string>;
  /** Main and post summaries together. */
  summary: string;
  exitCode: number;
  workspace: string;
  runnerTemp: string;
  /** The runner environment both steps started from (before inputs). */
  baseEnv: Record<string, string>;
  /** Where `secret` appears in clear: logs (outside ::add-mask::), stderr, summary, or outputs not in `allowedOutputs`. */
  leaks(secret: string, allowedOutputs?: string[]): string[];
}

/** Parse a runner file-command file (`name<<DELIM` blocks or `name=value` lines). */
export function parseFileCommands(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (!line) continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, key, delim] = heredoc as unknown as [string, string, string];
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delim; i++) value.push(lines[i] as string);
      out[key] = value.join('\n');
    } else {
      const eq = line.indexOf('=');
      if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
    }
  }
  return out;
}

function unescapeData(s: string): string {
  return s.replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%');
}

interface ActionYaml {
  inputs?: Record<string, { default?: string | number | boolean }>;
  runs?: { main?: string; post?: string };
}

export function readActionYaml(dir: string): ActionYaml {
  return parseYaml(readFileSync(join(dir, 'action.yml'), 'utf8')) as ActionYaml;
}

/**
 * Run a program asynchronously (a sandbox in this same process keeps answering) and collect its output.
 * Used for the action steps here and for the real clients (gcloud, kubectl, bash) the tests drive.
 */
export function runProgram(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  cwd = ROOT,
  opts: { timeoutMs?: number; combinedFile?: string; signal?: AbortSignal } = {},
): Promise<{ code: number; stdout: string; stderr: string; timedOut?: boolean }> {
  return new Promise((res, rej) => {
    // combinedFile: stdout and stderr are one file opened for append, so the log holds every line in the
    // order the program wrote it (as the Actions log shows a step); `stdout` is then that log, `stderr` ''.
    const fd = opts.combinedFile === undefined ? undefined : openSync(opts.combinedFile, 'a');
    // With a timeout the child leads its own process group, so a shell's children stop with it.
    let child;
    try {
      child = spawn(cmd, args, { env, cwd, stdio: fd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', fd, fd], detached: opts.timeoutMs !== undefined || opts.signal !== undefined });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            try {
              process.kill(-(child.pid as number), 'SIGKILL');
            } catch {
              child.kill('SIGKILL');
            }
          }, opts.timeoutMs);
    // signal: aborting stops the program and its children (a cancelled workflow run), as a timeout does.
    const onAbort = () => {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      rej(e);
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (opts.combinedFile !== undefined) stdout = readFileSync(opts.combinedFile, 'utf8');
      res({ code: code ?? 1, stdout, stderr, ...(timedOut ? { timedOut } : {}) });
    });
  });
}

export interface StepProgramOptions {
  /** Folder for the step's GITHUB_* files (default: a fresh temp folder). */
  dir?: string;
  timeoutMs?: number;
  /**
   * One log of stdout and stderr in the order written (the local workflow runner, like the Actions
   * log): `stdout` and `log` are that log and workflow commands are read from it; `stderr` is ''.
   */
  interleave?: boolean;
  /** Aborting stops the program and its children. */
  signal?: AbortSignal;
}

/** Run an action's entry (node, or tsx for `.ts`) as one runner step. */
export function runStep(entry: string, env: Record<string, string>, cwd: string, opts: StepProgramOptions = {}): Promise<StepResult & { timedOut?: boolean }> {
  const tsx = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
  const args = entry.endsWith('.ts') ? ['--import', tsx, entry] : [entry];
  return runCommandStep(process.execPath, args, env, cwd, opts);
}

/**
 * Run any program as one runner step: fresh GITHUB_OUTPUT/STATE/ENV/PATH/STEP_SUMMARY files, then
 * the outputs, exported env, paths, state, summary, masks and annotations it left.
 */
export async function runCommandStep(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  cwd: string,
  opts: StepProgramOptions = {},
): Promise<StepResult & { timedOut?: boolean }> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'mlabs-step-'));
  const files = {
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_ENV: join(dir, 'env'),
    GITHUB_PATH: join(dir, 'path'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
  };
  for (const f of Object.values(files)) writeFileSync(f, '');
  const { code, stdout, stderr, timedOut } = await runProgram(cmd, args, { ...env, ...files }, cwd, {
    timeoutMs: opts.timeoutMs,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.interleave ? { combinedFile: join(dir, 'log') } : {}),
  });
  const masks: string[] = [];
  const annotations: Annotation[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^::add-mask::(.*)$/.exec(line);
    if (m) masks.push(unescapeData(m[1] as string));
    const a = /^::(error|warning|notice|debug)(?: [^:]*)?::(.*)$/.exec(line);
    if (a) annotations.push({ level: a[1] as Annotation['level'], message: unescapeData(a[2] as string) });
  }
  let log = stdout;
  for (const m of masks) log = log.split(m).join('***');
  const result = {
    exitCode: code,
    stdout,
    stderr,
    log,
    outputs: parseFileCommands(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
    exportedEnv: parseFileCommands(readFileSync(files.GITHUB_ENV, 'utf8')),
    paths: readFileSync(files.GITHUB_PATH, 'utf8').split('\n').filter(Boolean),
    state: parseFileCommands(readFileSync(files.GITHUB_STATE, 'utf8')),
    summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
    masks,
    annotations,
    ...(timedOut ? { timedOut } : {}),
  };
  rmSync(dir, { recursive: true, force: true });
  return result;
}

/** The INPUT_* variables of a step: action.yml defaults (unless a hand run), then the given `with:` values. */
export function inputEnv(yml: ActionYaml, inputs: RunOptions['inputs'], runnerDefaults = true): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, spec] of Object.entries(yml.inputs ?? {})) {
    if (runnerDefaults && spec?.default !== undefined) env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = String(spec.default);
  }
  for (const [name, value] of Object.entries(inputs ?? {})) {
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = String(value);
  }
  return env;
}

/** The STATE_* variables a post step gets from its main step's saved state. */
export function stateEnv(state: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(state)) env[`STATE_${k}`] = v;
  return env;
}

interface PostContext extends RunOptions {
  actionDir: string;
  base: Record<string, string>;
  inputs: Record<string, string>;
}

/** The post step: same inputs, the main step's saved state, and the environment the job had by then. */
async function runPostStep(main: StepResult, ctx: PostContext, jobEnv: Record<string, string | undefined> = {}): Promise<StepResult> {
  const yml = readActionYaml(ctx.actionDir);
  const postEntry = ctx.entry ?? join(ctx.actionDir, yml.runs?.post ?? 'dist/index.js');
  const state = stateEnv(main.state);
  const env: Record<string, string> = { ...ctx.base, ...main.exportedEnv };
  for (const [k, v] of Object.entries(jobEnv)) if (v !== undefined) env[k] = v;
  return runStep(postEntry, { ...env, ...ctx.inputs, ...state }, ctx.base.GITHUB_WORKSPACE as string);
}

/**
 * Run the post step of an action run with `post: false` later, as the runner does at the
 * end of the job (e.g. after other steps used the credentials file a login step wrote).
 */
export async function runDeferredPost(name: string, run: ActionRun, opts: RunOptions = {}, jobEnv: Record<string, string | undefined> = {}): Promise<StepResult | undefined> {
  const actionDir = opts.actionDir ?? join(ROOT, 'actions', name);
  const yml = readActionYaml(actionDir);
  if (!yml.runs?.post) return undefined;
  return runPostStep(run.main, { ...opts, actionDir, base: run.baseEnv, inputs: inputEnv(yml, opts.inputs, opts.runnerDefaults) }, jobEnv);
}

/** The environment the runner gives every step of a job (before the job's env and the inputs). */
export function runnerBaseEnv(workspace: string, runnerTemp: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    LANG: 'C.UTF-8',
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: workspace,
    RUNNER_TEMP: runnerTemp,
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    RUNNER_NAME: 'sandbox-runner',
    GITHUB_REPOSITORY: 'mlabs/platform',
    GITHUB_REPOSITORY_OWNER: 'mlabs',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_RUN_ID: '1',
    GITHUB_WORKFLOW: 'test',
    GITHUB_ACTOR: 'octocat',
    GITHUB_EVENT_NAME: 'workflow_dispatch',
    GITHUB_SERVER_URL: 'https://github.com',
  };
}

/** Run action `name` (a folder under actions/) as the runner would. */
export async function runAction(name: string, opts: RunOptions = {}): Promise<ActionRun> {
  const actionDir = opts.actionDir ?? join(ROOT, 'actions', name);
  const yml = readActionYaml(actionDir);
  const entry = opts.entry ?? join(actionDir, yml.runs?.main ?? 'dist/index.js');
  if (!existsSync(entry)) throw new Error(`no entry ${entry}: build the action first (npm run build)`);
  const workspace = opts.workspace ?? mkdtempSync(join(tmpdir(), 'mlabs-ws-'));
  const runnerTemp = opts.runnerTemp ?? mkdtempSync(join(tmpdir(), 'mlabs-tmp-'));
  const base = runnerBaseEnv(workspace, runnerTemp);
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v !== undefined) base[k] = v;
  const inputs = inputEnv(yml, opts.inputs, opts.runnerDefaults);
  const main = await runStep(entry, { ...base, ...inputs }, workspace, opts.signal ? { signal: opts.signal } : {});

  const post = yml.runs?.post && opts.post !== false ? await runPostStep(main, { ...opts, actionDir, base, inputs }) : undefined;

  const summary = main.summary + (post?.summary ?? '');
  return {
    main,
    post,
    outputs: main.outputs,
    exportedEnv: main.exportedEnv,
    summary,
    exitCode: main.exitCode,
    workspace,
    runnerTemp,
    baseEnv: base,
    leaks(secret: string, allowedOutputs: string[] = []) {
      const places: string[] = [];
      for (const [step, r] of [['main', main], ['post', post]] as const) {
        if (!r) continue;
        const logLines = r.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::'));
        if (logLines.some((l) => l.includes(secret))) places.push(`${step} log`);
        if (r.stderr.includes(secret)) places.push(`${step} stderr`);
        if (r.summary.includes(secret)) places.push(`${step} summary`);
        for (const [k, v] of Object.entries(r.outputs)) {
          if (v.includes(secret) && !allowedOutputs.includes(k)) places.push(`${step} output ${k}`);
        }
        for (const [k, v] of Object.entries(r.exportedEnv)) if (v.includes(secret)) places.push(`${step} env ${k}`);
      }
      return places;
    },
  };
}
