// Run real gcloud against a sandbox, with its own throw-away configuration directory.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sandbox } from '../../scripts/sandbox/index.js';

/** A missing gcloud fails the test file (CI has it), with what to install. */
export function requireGcloud(): void {
  let ok = true;
  try {
    execFileSync('gcloud', ['--version'], { stdio: 'ignore' });
  } catch {
    ok = false;
  }
  assert.ok(ok, 'gcloud is not on PATH: install the Google Cloud CLI (google-cloud-cli) to run the Cloud Storage and Artifact Registry round-trips');
}

export interface GcloudResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class Gcloud {
  readonly config = mkdtempSync(join(tmpdir(), 'gcloud-config-'));
  constructor(private readonly sb: Sandbox) {}

  /** Run gcloud; never rejects (tests assert on code and output). */
  run(args: string[], opts: { cwd?: string } = {}): Promise<GcloudResult> {
    return new Promise((resolve) => {
      execFile(
        'gcloud',
        args,
        { env: { ...process.env, ...this.sb.env, CLOUDSDK_CONFIG: this.config }, timeout: 90_000, cwd: opts.cwd },
        (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  }

  /** Run gcloud and expect success; returns stdout. */
  async ok(args: string[], opts: { cwd?: string } = {}): Promise<string> {
    const r = await this.run(args, opts);
    assert.equal(r.code, 0, `gcloud ${args.join(' ')} failed (${r.code}):\n${r.stderr}`);
    return r.stdout;
  }

  /** Run gcloud with --format=json and parse it. */
  async json<T = unknown>(args: string[]): Promise<T> {
    return JSON.parse((await this.ok([...args, '--format=json'])) || 'null') as T;
  }

  dispose(): void {
    rmSync(this.config, { recursive: true, force: true });
  }
}
