/**
 * One error type for everything a user can act on: what went wrong and how to fix it.
 * Any other thrown value is a defect and is reported as such.
 */
export class ActionError extends Error {
  /** What the user should do about it; printed after the message. */
  readonly fix?: string;

  constructor(message: string, options: { fix?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ActionError';
    this.fix = options.fix;
  }
}

/** A wrong input value: names the input, the value and what is accepted. */
export class InputError extends ActionError {
  readonly input: string;

  constructor(input: string, value: string, accepted: string, fix?: string) {
    super(`Input "${input}" ${value === '' ? 'is empty' : `is ${JSON.stringify(value)}`}: ${accepted}`, { fix });
    this.name = 'InputError';
    this.input = input;
  }

  /** An error about a value that must not be repeated (a secret): `problem` says what is wrong without it. */
  static hidden(input: string, problem: string, fix?: string): InputError {
    const err = new InputError(input, '', '', fix);
    err.message = `Input "${input}": ${problem}`;
    return err;
  }
}

/** The message a user sees for any thrown value. */
export function describeError(err: unknown): string {
  if (err instanceof ActionError) return err.fix ? `${err.message}\nFix: ${err.fix}` : err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
