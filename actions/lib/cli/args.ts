/**
 * The mlabs command's arguments: flags as kubectl takes them (`--name value`, `--name=value`, short
 * `-n value`, repeatable flags, `--` then the command and its arguments as given), and the checks of
 * their values. A wrong argument is a UsageError: it names the flag, the value and what is accepted,
 * and the command exits 2 with its usage line.
 */
import { ActionError } from '../errors.js';
import { parseDuration } from '../inputs.js';

export class UsageError extends ActionError {
  /** The usage line of the command that was called. */
  usage = '';

  constructor(message: string, fix?: string) {
    super(message, { fix });
    this.name = 'UsageError';
  }
}

/** `--flag "value": accepted` (the value left out when it must not be shown). */
export function badValue(flag: string, value: string | undefined, accepted: string): UsageError {
  return new UsageError(`${flag} ${value === undefined ? '' : value === '' ? 'is empty: ' : `${JSON.stringify(value)}: `}${accepted}`);
}

export interface FlagSpec {
  /** Long name without dashes. */
  name: string;
  short?: string;
  /** Takes a value (else a switch). */
  value?: boolean;
  repeat?: boolean;
}

export interface Parsed {
  flags: Map<string, string[]>;
  positionals: string[];
  /** What followed `--` (undefined when there was none). */
  rest?: string[];
}

export function parseArgs(argv: string[], specs: FlagSpec[]): Parsed {
  const flags = new Map<string, string[]>();
  const positionals: string[] = [];
  const known = (): string => specs.map((s) => `--${s.name}${s.short ? ` (-${s.short})` : ''}`).join(', ');
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') return { flags, positionals, rest: argv.slice(i + 1) };
    // `-1` is a (negative) number for the value checks to refuse, not a flag.
    if (!arg.startsWith('-') || arg === '-' || /^-\d/.test(arg)) {
      positionals.push(arg);
      continue;
    }
    const long = arg.startsWith('--');
    const eq = arg.indexOf('=');
    const key = long ? arg.slice(2, eq > 0 ? eq : undefined) : arg.slice(1, 2);
    const spec = specs.find((s) => (long ? s.name === key : s.short === key));
    if (!spec) throw new UsageError(`unknown flag ${long ? `--${key}` : `-${key}`}; this command takes ${known() || 'no flags'}.`);
    const shown = long ? `--${spec.name}` : `-${key}`;
    let value: string;
    if (!spec.value) {
      if ((long && eq > 0) || (!long && arg.length > 2)) throw new UsageError(`${shown} is a switch and takes no value (given ${JSON.stringify(arg)}).`);
      value = 'true';
    } else if (long && eq > 0) value = arg.slice(eq + 1);
    else if (!long && arg.length > 2) value = arg.slice(arg[2] === '=' ? 3 : 2);
    else {
      const next = argv[i + 1];
      if (next === undefined || next === '--') throw new UsageError(`${shown} needs a value.`);
      value = next;
      i++;
    }
    const seen = flags.get(spec.name) ?? [];
    if (seen.length && !spec.repeat) throw new UsageError(`--${spec.name} is given twice (${JSON.stringify(seen[0])} and ${JSON.stringify(value)}); give it once.`);
    flags.set(spec.name, [...seen, value]);
  }
  return { flags, positionals };
}

export const flag = (p: Parsed, name: string): string | undefined => p.flags.get(name)?.[0];
export const has = (p: Parsed, name: string): boolean => p.flags.has(name);

/** A whole number within bounds. */
export function intValue(flagName: string, raw: string, min: number, max?: number): number {
  if (!/^-?\d+$/.test(raw.trim()) || Number(raw) < min || (max !== undefined && Number(raw) > max)) {
    throw badValue(flagName, raw, `expected a whole number ${max === undefined ? `of ${min} or more` : `from ${min} to ${max}`}.`);
  }
  return Number(raw);
}

/** A value matching `pattern`. */
export function patternValue(flagName: string, raw: string, pattern: RegExp, accepted: string): string {
  if (!pattern.test(raw)) throw badValue(flagName, raw, `expected ${accepted}.`);
  return raw;
}

/** A duration in seconds ("3600", "45m", "11h"). */
export function durationValue(flagName: string, raw: string, min: number, max: number): number {
  const s = parseDuration(raw);
  if (s === undefined || s < min || s > max) throw badValue(flagName, raw, `expected a duration such as 300s, 45m or 11h, from ${min} s to ${max} s.`);
  return s;
}
