/**
 * Actions that are not this suite's: the registered stand-ins for the pinned third-party actions
 * the workflows use. Any other `uses:` fails its step with a message saying so.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runStep, type StepResult } from '../../test/harness.js';

export interface ActionContext {
  uses: string;
  with: Record<string, string>;
  env: Record<string, string>;
  workspace: string;
  /** The step's own folder. */
  dir: string;
  /** Where upload-artifact keeps artifacts for the run. */
  artifacts: string;
  root: string;
  suiteRepository: string;
  copyRepository(dest: string): void;
  timeoutMs: number;
  /** The job's GITHUB_TOKEN (github.token), the default of a `github-token` input. */
  githubToken: string;
}

export interface StandInResult {
  result: StepResult;
  /** What ran instead of the real action, for the run's report. */
  standIn?: string;
}

function step(exitCode: number, log: string, extra: Partial<StepResult> = {}): StepResult {
  const error = exitCode === 0 ? [] : [{ level: 'error' as const, message: log.trim().split('\n').pop() ?? '' }];
  return {
    exitCode,
    stdout: log,
    stderr: '',
    log,
    outputs: {},
    exportedEnv: {},
    paths: [],
    state: {},
    summary: '',
    masks: [],
    annotations: error,
    ...extra,
  };
}

type Handler = (ctx: ActionContext) => Promise<StandInResult> | StandInResult;

const checkout: Handler = (ctx) => {
  const repo = ctx.with.repository;
  const platform = ctx.env.GITHUB_REPOSITORY;
  if (repo && repo !== ctx.suiteRepository && repo !== platform) {
    return { result: step(1, `actions/checkout: repository ${repo} is neither this suite (${ctx.suiteRepository}) nor the workflow's repository; the local runner only has this checkout\n`) };
  }
  const dest = resolve(ctx.workspace, ctx.with.path ?? '.');
  if (!dest.startsWith(ctx.workspace)) return { result: step(1, `actions/checkout: path ${ctx.with.path} is outside the workspace\n`) };
  ctx.copyRepository(dest);
  return {
    result: step(0, `Copied ${ctx.root} (working tree, without node_modules and .git) to ${dest}\n`),
    standIn: `actions/checkout copied this repository${ctx.with.ref ? ` (ref ${ctx.with.ref} not checked out: the working tree is used)` : ''}`,
  };
};

const setupTerraform: Handler = (ctx) => {
  const onPath = (ctx.env.PATH ?? '').split(':').find((d) => existsSync(join(d, 'terraform')));
  if (!onPath || basename(onPath) !== 'stand-ins') return { result: step(1, `hashicorp/setup-terraform: the terraform stand-in is not first on PATH (found ${onPath ?? 'none'})\n`) };
  return { result: step(0, `terraform is the recorded stand-in ${join(onPath, 'terraform')}\n`), standIn: 'terraform stand-in on PATH (no download)' };
};

const setupGcloud: Handler = () => ({ result: step(0, 'gcloud is already on PATH, pointed at the sandbox\n'), standIn: 'no-op: the real gcloud on PATH' });

function copyInto(src: string, dest: string): void {
  mkdirSync(dest, { recursive: true });
  if (statSync(src).isDirectory()) cpSync(src, dest, { recursive: true });
  else cpSync(src, join(dest, basename(src)));
}

/** `*` and `?` in the last path segment (what the workflows use), matched against that folder. */
function expand(pattern: string): string[] {
  const name = basename(pattern);
  if (!/[*?]/.test(name)) return existsSync(pattern) ? [pattern] : [];
  const dir = dirname(pattern);
  if (!existsSync(dir)) return [];
  const re = wildcard(name);
  return readdirSync(dir)
    .filter((f) => re.test(f))
    .map((f) => join(dir, f));
}

const wildcard = (glob: string): RegExp => new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);

const uploadArtifact: Handler = (ctx) => {
  const name = ctx.with.name || 'artifact';
  const paths = (ctx.with.path ?? '').split('\n').map((p) => p.trim()).filter(Boolean);
  const dest = join(ctx.artifacts, name);
  rmSync(dest, { recursive: true, force: true });
  const missing: string[] = [];
  for (const p of paths) {
    const found = expand(resolve(ctx.workspace, p));
    for (const src of found) copyInto(src, dest);
    if (found.length === 0) missing.push(p);
  }
  const ifNoFiles = ctx.with['if-no-files-found'] || 'warn';
  if (missing.length === paths.length && ifNoFiles === 'error') return { result: step(1, `upload-artifact: no files found at ${paths.join(', ')}\n`) };
  const files = existsSync(dest) ? readdirSync(dest, { recursive: true }).length : 0;
  return { result: step(0, `Stored artifact '${name}' (${files} entries) in the run folder\n`, { outputs: { 'artifact-id': name } }), standIn: 'upload-artifact kept the files in the run folder' };
};

const downloadArtifact: Handler = (ctx) => {
  const name = ctx.with.name;
  const target = resolve(ctx.workspace, ctx.with.path || '.');
  const all = existsSync(ctx.artifacts) ? readdirSync(ctx.artifacts) : [];
  const names = name ? [name] : ctx.with.pattern ? all.filter((n) => wildcard(ctx.with.pattern as string).test(n)) : all;
  // One artifact by name, or merge-multiple: into the path itself; otherwise one folder per artifact.
  const flat = Boolean(name) || ctx.with['merge-multiple'] === 'true';
  for (const n of names) {
    const src = join(ctx.artifacts, n);
    if (!existsSync(src)) return { result: step(1, `download-artifact: no artifact named '${n}' was uploaded in this run\n`) };
    cpSync(src, flat ? target : join(target, n), { recursive: true });
  }
  return { result: step(0, `Restored ${names.join(', ') || 'no artifacts'} to ${target}\n`, { outputs: { 'download-path': target } }), standIn: 'download-artifact from the run folder' };
};

const GITHUB_SCRIPT_INPUTS = ['script', 'github-token', 'result-encoding', 'retries', 'debug', 'user-agent'];

/** actions/github-script: the step's script in `github-script.mjs`, a step program with a small Octokit of the sandbox's GitHub API. */
const githubScript: Handler = async (ctx) => {
  const unknown = Object.keys(ctx.with).filter((k) => !GITHUB_SCRIPT_INPUTS.includes(k));
  if (unknown.length) return { result: step(1, `actions/github-script: input ${unknown.join(', ')} is not one the stand-in takes (${GITHUB_SCRIPT_INPUTS.join(', ')})\n`) };
  const inputs: Record<string, string> = { 'github-token': ctx.githubToken, 'result-encoding': 'json', ...ctx.with };
  const env = { ...ctx.env, ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])) };
  const result = await runStep(join(dirname(fileURLToPath(import.meta.url)), 'github-script.mjs'), env, ctx.workspace, { dir: ctx.dir, timeoutMs: ctx.timeoutMs, interleave: true });
  return { result, standIn: `github-script ran the script against the sandbox's GitHub API (${ctx.env.GITHUB_API_URL ?? 'GITHUB_API_URL unset'})` };
};

/** Registered stand-ins by `owner/repo` (the ref is ignored: every pinned version gets the same one). */
export const STAND_IN_ACTIONS: Record<string, Handler> = {
  'actions/checkout': checkout,
  'hashicorp/setup-terraform': setupTerraform,
  'google-github-actions/setup-gcloud': setupGcloud,
  'actions/upload-artifact': uploadArtifact,
  'actions/download-artifact': downloadArtifact,
  'actions/github-script': githubScript,
};

export async function standInAction(ctx: ActionContext): Promise<StandInResult> {
  const repo = ctx.uses.split('@')[0] ?? ctx.uses;
  const handler = STAND_IN_ACTIONS[repo];
  if (!handler) {
    return {
      result: step(1, `uses: ${ctx.uses}: the local runner cannot run this action (no stand-in registered; registered: ${Object.keys(STAND_IN_ACTIONS).join(', ')})\n`),
    };
  }
  return handler(ctx);
}
