/**
 * Running a program that is given data on stdin (a password for `--password-stdin`, a manifest for
 * `kubectl apply -f -`). @actions/exec writes `input` to the child without handling the write's
 * errors: a tool that exits before reading its stdin (docker login refusing at once) makes that
 * write fail with EPIPE, and the unhandled stream error crashes the action with a stack trace and
 * no `::error::`. This is the one place the suite spawns a program itself: with an argument array,
 * never a shell, and with every write to the child's stdin handled, so the tool's own exit code
 * and stderr are what the caller reports.
 */
import { EOL } from 'node:os';

export interface ToolOptions {
  /** Written to the child's stdin, which is then closed. Without it, stdin is closed at once. */
  input?: string | Buffer;
  /** Do not echo the command line nor stream the output to the log (it is still returned). */
  silent?: boolean;
  env?: Record<string, string>;
  cwd?: string;
}

export interface ToolResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The command line as the log shows it (`[command]docker login host --username u --password-stdin`). */
function commandLine(command: string, args: string[]): string {
  return `[command]${[command, ...args].join(' ')}`;
}

/**
 * Run `command` with `args` and collect its output. Rejects only when the program cannot be started
 * (the error's `code` is ENOENT when it is not on PATH); a non-zero exit is the caller's to judge.
 */
export function runTool(command: string, args: string[], opts: ToolOptions = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    if (!opts.silent) process.stdout.write(commandLine(command, args) + EOL);
    // Loaded on first use: node:child_process (net, streams, dgram) costs more than most of a bundle's start.
    const { spawn } = process.getBuiltinModule('node:child_process');
    const child = spawn(command, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => {
      out.push(d);
      if (!opts.silent) process.stdout.write(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      err.push(d);
      // As @actions/exec does: the tool's stderr goes to the step log, not to the runner's stderr.
      if (!opts.silent) process.stdout.write(d);
    });
    // A tool that exits without reading its stdin closes the pipe: the write fails with EPIPE (or the
    // stream reports it was destroyed). That is not this program's failure; the exit code tells.
    child.stdin.on('error', () => undefined);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ exitCode: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** True when `err` (from runTool) says the program is not on PATH. */
export function isProgramMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
