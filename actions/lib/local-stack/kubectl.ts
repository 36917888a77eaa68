/**
 * kubectl with argument arrays, always against the action's kubeconfig, through lib/tools/exec.ts
 * (objects go in on stdin, never in argv, and a kubectl that exits before reading them is reported
 * by its exit code). Output is captured silently and logged by the caller.
 */
import { ActionError } from '../errors.js';
import { info } from '../runner.js';
import { isProgramMissing, runTool } from '../tools/exec.js';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; uid?: string; generation?: number; [k: string]: unknown };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [k: string]: unknown;
}

export class Kubectl {
  constructor(readonly kubeconfig: string) {}

  async run(args: string[], opts: { input?: string; log?: boolean } = {}): Promise<Run> {
    const full = ['--kubeconfig', this.kubeconfig, ...args];
    if (opts.log) info(`kubectl ${args.join(' ')}`);
    try {
      const r = await runTool('kubectl', full, { input: opts.input, silent: true });
      return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      if (isProgramMissing(err)) {
        throw new ActionError('kubectl is not on PATH.', { fix: 'Install kubectl on the runner (the mlabs runner image carries it), or run `minikube kubectl` once to fetch it.' });
      }
      throw err;
    }
  }

  /** Run and fail with kubectl's own message. */
  async must(args: string[], what: string, opts: { input?: string; log?: boolean } = {}): Promise<string> {
    const r = await this.run(args, opts);
    if (r.code !== 0) throw new ActionError(`${what} failed: ${(r.stderr || r.stdout).trim()}`);
    return r.stdout;
  }

  async json<T>(args: string[], what: string, input?: string): Promise<T> {
    const out = await this.must([...args, '-o', 'json'], what, { input });
    return JSON.parse(out) as T;
  }

  async list(kinds: string, namespace: string | undefined, what: string, selector?: string): Promise<KubeObject[]> {
    const args = ['get', kinds, ...(namespace ? ['-n', namespace] : ['-A']), ...(selector ? ['-l', selector] : [])];
    const l = await this.json<{ items?: KubeObject[] }>(args, what);
    return l.items ?? [];
  }

  /** Objects of a rendered manifest as they are in the cluster now (absent ones left out). */
  async current(manifest: string): Promise<KubeObject[]> {
    const r = await this.run(['get', '-f', '-', '--ignore-not-found', '-o', 'json'], { input: manifest });
    if (r.code !== 0 || !r.stdout.trim()) return [];
    const parsed = JSON.parse(r.stdout) as KubeObject & { items?: KubeObject[] };
    return parsed.kind === 'List' || Array.isArray(parsed.items) ? (parsed.items ?? []) : [parsed];
  }

  /** Server-side apply of a manifest; returns `Kind/name (created|changed)` for what the apply changed. */
  async applyChanges(manifest: string, what: string): Promise<string[]> {
    const before = new Map((await this.current(manifest)).map((o) => [keyOf(o), desiredPart(o)]));
    await this.apply(manifest, what);
    const after = await this.current(manifest);
    return after.filter((o) => before.get(keyOf(o)) !== desiredPart(o)).map((o) => `${o.kind}/${o.metadata.name}${before.has(keyOf(o)) ? ' (changed)' : ' (created)'}`);
  }

  /** Server-side apply with the suite's field manager; returns kubectl's lines. */
  async apply(manifest: string, what: string): Promise<string[]> {
    const out = await this.must(['apply', '--server-side', '--field-manager=mlabs-actions', '-f', '-'], what, { input: manifest });
    return out.split('\n').filter(Boolean);
  }
}

/** Identity of an object: kind/namespace/name. */
export function keyOf(o: KubeObject): string {
  return `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

/** An object without what the server maintains, to tell whether an apply changed anything. */
export function desiredPart(o: KubeObject): string {
  const { status: _s, ...rest } = o;
  const { resourceVersion: _r, managedFields: _m, generation: _g, creationTimestamp: _c, uid: _u, ...meta } = o.metadata as Record<string, unknown>;
  return JSON.stringify({ ...rest, metadata: meta });
}
