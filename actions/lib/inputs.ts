/**
 * Reading and validating action inputs. Every reader fails with an InputError
 * that names the input, the value and what is accepted, before any API call.
 *
 * Defaults live only in action.yml: an input the runner did not pass, or passed empty, takes
 * action.yml's `default:` (read from the action.yml next to the bundle), so a hand run behaves like
 * a runner run. The readers take no default of their own.
 */
import { actionYmlDefault } from './action-yml.js';
import { InputError } from './errors.js';
import { setDeadline } from './time.js';
import { getInput, setSecret } from './runner.js';

/** An input's value: what the runner passed, else action.yml's default, else ''. Trimmed. */
export function inputValue(name: string): string {
  return getInput(name) || (actionYmlDefault(name) ?? '').trim();
}

/** An e-mail address as Google's quota requests take it (ASCII, one @, a domain with a dot). */
export const EMAIL_PATTERN = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$/;

interface Common {
  /** Empty (with no default in action.yml) is refused. Without it, empty gives '' or [] per reader. */
  required?: boolean;
}

function missing(name: string, what: string): never {
  throw new InputError(name, '', `this input is required (${what}).`);
}

export interface StringOptions extends Common {
  pattern?: RegExp;
  /** Human description of what the pattern accepts, e.g. "a project id: 6-30 lowercase letters, digits or hyphens". */
  accepted?: string;
}

export function readString(name: string, opts: StringOptions = {}): string {
  const raw = inputValue(name);
  if (raw === '') {
    if (opts.required) missing(name, opts.accepted ?? 'a non-empty value');
    return '';
  }
  if (opts.pattern && !opts.pattern.test(raw)) {
    throw new InputError(name, raw, `expected ${opts.accepted ?? `a value matching ${opts.pattern}`}.`);
  }
  return raw;
}

/** Characters an HTTP header value may hold: visible ASCII, space and tab (no CR, LF or other control, no non-ASCII). */
const HEADER_SAFE = /^[\x20-\x7e\t]*$/;

/** What is wrong with a value that goes into an HTTP header, without repeating the value; undefined when it is fine. */
export function headerValueProblem(value: string): string | undefined {
  if (HEADER_SAFE.test(value)) return undefined;
  if (/[\r\n]/.test(value)) return 'contains a line break';
  if (/[^\p{ASCII}]/u.test(value)) return 'contains a non-ASCII character';
  return 'contains a control character';
}

export interface SecretOptions {
  required?: boolean;
  requiredBecause?: string;
  /** The value goes into an HTTP header (a token, a password for Basic auth): only visible ASCII is accepted. */
  header?: boolean;
}

/** A secret input: registered for masking before anything else can print it. Its value is never shown in an error. */
export function readSecret(name: string, opts: SecretOptions = {}): string {
  const raw = inputValue(name);
  setSecret(raw);
  if (raw === '' && opts.required) {
    throw new InputError(name, '', `this secret is required${opts.requiredBecause ? ` ${opts.requiredBecause}` : ''}.`);
  }
  const problem = opts.header ? headerValueProblem(raw) : undefined;
  if (problem) {
    throw InputError.hidden(name, `the value (not shown, it is a secret) ${problem}; it is sent in an HTTP header, which takes visible ASCII characters only.`, 'Copy the token again without the surrounding text or line break.');
  }
  return raw;
}

export function readEnum<T extends string>(name: string, values: readonly T[]): T {
  const raw = inputValue(name);
  if (raw === '') {
    missing(name, `one of ${values.join(', ')}`);
  }
  const found = values.find((v) => v === raw.toLowerCase() || v === raw);
  if (found === undefined) throw new InputError(name, raw, `expected one of ${values.map((v) => `"${v}"`).join(', ')}.`);
  return found;
}

export interface IntOptions {
  min?: number;
  max?: number;
}

function rangeText(min?: number, max?: number): string {
  if (min !== undefined && max !== undefined) return ` from ${min} to ${max}`;
  if (min !== undefined) return ` of at least ${min}`;
  if (max !== undefined) return ` of at most ${max}`;
  return '';
}

export function readInt(name: string, opts: IntOptions = {}): number {
  const raw = inputValue(name);
  if (raw === '') {
    missing(name, `a whole number${rangeText(opts.min, opts.max)}`);
  }
  const value = /^-?\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || (opts.min !== undefined && value < opts.min) || (opts.max !== undefined && value > opts.max)) {
    throw new InputError(name, raw, `expected a whole number${rangeText(opts.min, opts.max)}.`);
  }
  return value;
}

/** Exactly the words @actions/core's getBooleanInput accepts (YAML 1.2 core schema booleans). */
const TRUE = ['true', 'True', 'TRUE'];
const FALSE = ['false', 'False', 'FALSE'];

/** A switch; empty (with no default in action.yml) is off. */
export function readBool(name: string): boolean {
  const raw = inputValue(name);
  if (raw === '') return false;
  if (TRUE.includes(raw)) return true;
  if (FALSE.includes(raw)) return false;
  throw new InputError(name, raw, 'expected true or false (also True, TRUE, False, FALSE).');
}

export interface ListOptions extends Common {
  /** Each item must match. */
  item?: RegExp;
  accepted?: string;
  unique?: boolean;
}

/** Split a comma- or newline-separated list; blanks are dropped. */
export function splitList(raw: string): string[] {
  return raw
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function readList(name: string, opts: ListOptions = {}): string[] {
  const raw = inputValue(name);
  const items = splitList(raw);
  if (items.length === 0) {
    if (opts.required) missing(name, `a comma- or newline-separated list of ${opts.accepted ?? 'values'}`);
    return [];
  }
  for (const it of items) {
    if (opts.item && !opts.item.test(it)) {
      throw new InputError(name, raw, `item ${JSON.stringify(it)} is not ${opts.accepted ?? `a value matching ${opts.item}`}.`);
    }
  }
  if (opts.unique) {
    const dup = items.find((it, i) => items.indexOf(it) !== i);
    if (dup !== undefined) throw new InputError(name, raw, `item ${JSON.stringify(dup)} is listed twice.`);
  }
  return items;
}

export interface NumberOptions {
  min?: number;
  max?: number;
}

/** A decimal number input ("5", "0.75"), not negative; empty is refused unless action.yml has a default. */
export function readNumber(name: string, opts: NumberOptions = {}): number {
  const raw = inputValue(name);
  const what = `a number such as 0.5${rangeText(opts.min, opts.max)}`;
  if (raw === '') missing(name, what);
  const value = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isFinite(value) || (opts.min !== undefined && value < opts.min) || (opts.max !== undefined && value > opts.max)) {
    throw new InputError(name, raw, `expected ${what}.`);
  }
  return value;
}

/** A whole number input that may be left empty: undefined then. */
export function readOptionalInt(name: string, opts: IntOptions = {}): number | undefined {
  return inputValue(name) === '' ? undefined : readInt(name, opts);
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Parse "90", "90s", "15m", "1h30m" into seconds; undefined when malformed. */
export function parseDuration(raw: string): number | undefined {
  const text = raw.trim().toLowerCase();
  if (/^\d+$/.test(text)) return Number(text);
  if (!/^(\d+[smhd])+$/.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/(\d+)([smhd])/g)) total += Number(m[1]) * (UNITS[m[2] as string] as number);
  return total;
}

export interface DurationOptions {
  /** Bounds in seconds. */
  min?: number;
  max?: number;
}

/** A duration input in seconds ("3600", "3600s", "45m", "1h"). */
export function readDuration(name: string, opts: DurationOptions = {}): number {
  const raw = inputValue(name);
  if (raw === '') {
    missing(name, 'a duration such as 300s, 15m or 1h');
  }
  const seconds = parseDuration(raw);
  const bounds = rangeText(opts.min, opts.max);
  if (seconds === undefined || (opts.min !== undefined && seconds < opts.min) || (opts.max !== undefined && seconds > opts.max)) {
    throw new InputError(name, raw, `expected a duration such as 300s, 15m or 1h${bounds ? `, in seconds${bounds}` : ''}.`);
  }
  return seconds;
}

/**
 * The action's `timeout` input (a duration): how long the whole action may take. It also bounds
 * every request the transport sends from now on, so a hung connection ends when the time is up.
 */
export function readActionTimeout(opts: DurationOptions = {}): number {
  const seconds = readDuration('timeout', opts);
  // A little past the action's own limit, so a waiter reports its own time-out (with what it waited for) first.
  setDeadline(Date.now() + seconds * 1000 + 15_000);
  return seconds;
}
