/**
 * The GitHub Actions runner protocol: inputs, outputs, state, environment,
 * masking, log commands and the job summary.
 *
 * Written here rather than taken from @actions/core: core 3 pulls in undici
 * through @actions/http-client and makes every bundle ~490 KB; this file is
 * the part of it the suite uses, a few KB.
 */
import { appendFileSync } from 'node:fs';
import { EOL } from 'node:os';

const secrets = new Set<string>();

function escapeData(value: string): string {
  return value.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function escapeProperty(value: string): string {
  return escapeData(value).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** Replace every registered secret in `text` with `***`, as the runner does in its log. */
export function redact(text: string): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('***');
  return out;
}

function issue(command: string, message = '', properties: Record<string, string | undefined> = {}): void {
  const props = Object.entries(properties)
    .filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')
    .map(([k, v]) => `${k}=${escapeProperty(redact(v))}`)
    .join(',');
  process.stdout.write(`::${command}${props ? ' ' + props : ''}::${escapeData(redact(message))}${EOL}`);
}

/** Append `name<<delimiter` records to one of the runner's command files. */
function appendFileCommand(envName: string, key: string, value: string): boolean {
  const file = process.env[envName];
  if (!file) return false;
  // Unique enough, and checked below: a value can never close its own record.
  const delimiter = `ghadelimiter_${Date.now().toString(36)}${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  if (key.includes(delimiter) || value.includes(delimiter)) {
    throw new Error(`Unexpected input: name or value contains the delimiter ${delimiter}`);
  }
  appendFileSync(file, `${key}<<${delimiter}${EOL}${value}${EOL}${delimiter}${EOL}`, 'utf8');
  return true;
}

/** Raw value of an input, as the runner passes it (`INPUT_<NAME>`), trimmed. */
export function getInput(name: string): string {
  return (process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim();
}

/** Register a value the runner must mask in every log line from now on. */
export function setSecret(value: string): void {
  if (!value) return;
  for (const part of [value, ...value.split(/\r?\n/)]) {
    if (part.trim().length < 4 || secrets.has(part)) continue;
    secrets.add(part);
    process.stdout.write(`::add-mask::${escapeData(part)}${EOL}`);
  }
}

export function setOutput(name: string, value: string | number | boolean): void {
  const text = String(value);
  if (!appendFileCommand('GITHUB_OUTPUT', name, text)) {
    process.stdout.write(EOL);
    issue('set-output', text, { name });
  }
}

export function exportVariable(name: string, value: string): void {
  process.env[name] = value;
  if (!appendFileCommand('GITHUB_ENV', name, value)) issue('set-env', value, { name });
}

export function addPath(dir: string): void {
  const file = process.env.GITHUB_PATH;
  if (file) appendFileSync(file, `${dir}${EOL}`, 'utf8');
  else issue('add-path', dir);
  process.env.PATH = `${dir}:${process.env.PATH ?? ''}`;
}

/** Save a value for the post step of this same action. */
export function saveState(name: string, value: string): void {
  if (!appendFileCommand('GITHUB_STATE', name, value)) issue('save-state', value, { name });
}

export function getState(name: string): string {
  return process.env[`STATE_${name}`] ?? '';
}

export function isDebug(): boolean {
  return process.env.RUNNER_DEBUG === '1';
}

export function debug(message: string): void {
  issue('debug', message);
}

export function info(message: string): void {
  process.stdout.write(redact(message) + EOL);
}

export interface Annotation {
  title?: string;
  file?: string;
  line?: number;
}

function annotationProps(a: Annotation): Record<string, string | undefined> {
  return { title: a.title, file: a.file, line: a.line === undefined ? undefined : String(a.line) };
}

export function notice(message: string, a: Annotation = {}): void {
  issue('notice', message, annotationProps(a));
}

export function warning(message: string, a: Annotation = {}): void {
  issue('warning', message, annotationProps(a));
}

export function error(message: string, a: Annotation = {}): void {
  issue('error', message, annotationProps(a));
}

/** Run `fn` inside a collapsible log group. */
export async function group<T>(title: string, fn: () => Promise<T>): Promise<T> {
  issue('group', title);
  try {
    return await fn();
  } finally {
    issue('endgroup');
  }
}

/** Append markdown to the job summary (a no-op outside a runner). Secrets are redacted. */
export function appendSummary(markdown: string): void {
  const file = process.env.GITHUB_STEP_SUMMARY;
  if (!file) return;
  appendFileSync(file, redact(markdown) + EOL, 'utf8');
}
