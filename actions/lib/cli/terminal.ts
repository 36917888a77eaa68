/**
 * The library speaks the runner's protocol (runner.ts: `::debug::`, `::warning::`, `::add-mask::`,
 * `::stop-commands::`); at a terminal the mlabs command renders it instead: debug lines only with
 * --verbose (on stderr), warnings and errors on stderr as `warning: ...`, masks, groups, outputs and
 * state dropped. At a terminal nothing obeys a command, so the train-job log follower's
 * `::stop-commands::TOKEN` ... `::TOKEN::` (which keeps the runner from obeying a trainer's output) is
 * dropped too, and the library's debug lines between a trainer's lines stay hidden.
 */
const COMMAND = /^::([A-Za-z0-9_-]+)(?: ([^:\n]*))?::([^\n]*)\r?\n$/;

const unescape = (s: string): string => s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');

/** From now on, what the library writes to stdout is shown as a terminal user expects it. */
export function renderRunnerProtocol(opts: { verbose: boolean }): void {
  const original = process.stdout.write.bind(process.stdout) as (...a: unknown[]) => boolean;
  const out = (s: string): boolean => original(s);
  const err = (s: string): boolean => process.stderr.write(s);
  let stopToken = '';
  const write = (chunk: unknown, ...rest: unknown[]): boolean => {
    const m = typeof chunk === 'string' ? COMMAND.exec(chunk) : null;
    if (!m) return original(chunk, ...rest);
    const [, command, , message = ''] = m;
    if (stopToken && command === stopToken && message === '') return true;
    switch (command) {
      case 'stop-commands':
        stopToken = message;
        return true;
      case 'debug':
        return opts.verbose ? err(`debug: ${unescape(message)}\n`) : true;
      case 'warning':
      case 'error':
        return err(`${command}: ${unescape(message)}\n`);
      case 'notice':
      case 'group':
        return out(`${unescape(message)}\n`);
      case 'add-mask':
      case 'endgroup':
      case 'set-output':
      case 'save-state':
      case 'set-env':
      case 'add-path':
        return true;
      default:
        return out(chunk as string);
    }
  };
  process.stdout.write = write as typeof process.stdout.write;
}
