/**
 * The training pods' logs in the step log: one `follow` stream per pod, reconnected (from the last
 * line's second, duplicates dropped) when the connection ends before the container does; every line
 * prefixed with the pod's rank when there is more than one. The last lines of each pod are kept for
 * the failure report. Workflow commands in the trainer's output are not obeyed (stop-commands).
 */

import type { KubeClient } from '../kubernetes/client.js';
import { debug } from '../runner.js';
import { describeError } from '../errors.js';

const KEEP = 50;

/** A pause that never keeps the process alive (the action exits as soon as its work is done). */
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

interface Stream {
  prefix: string;
  lines: string[];
  done: Promise<void>;
  /** The container has ended: the next end of the stream is the last. */
  finished: boolean;
}

export class LogFollower {
  private readonly streams = new Map<string, Stream>();
  private readonly abort = new AbortController();
  private readonly token = `mlabs-${process.getBuiltinModule('node:crypto').randomBytes(8).toString('hex')}`;
  private paused = false;

  constructor(
    private readonly kube: KubeClient,
    private readonly namespace: string,
    private readonly container: string,
    private readonly print: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  ) {}

  /** Stop obeying workflow commands in what follows (the trainer's output). */
  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.print(`::stop-commands::${this.token}`);
  }

  /** Obey workflow commands again (before the action's own annotations and outputs). */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.print(`::${this.token}::`);
  }

  has(pod: string): boolean {
    return this.streams.has(pod);
  }

  /** Start following a pod (once); `prefix` goes before each line, e.g. `[rank 1] `. */
  follow(pod: string, prefix = ''): void {
    if (this.streams.has(pod)) return;
    const s: Stream = { prefix, lines: [], finished: false, done: Promise.resolve() };
    this.streams.set(pod, s);
    s.done = this.run(pod, s);
  }

  /** The container of this pod has ended: its stream ends after the last line. */
  finished(pod: string): void {
    const s = this.streams.get(pod);
    if (s) s.finished = true;
  }

  private async run(pod: string, s: Stream): Promise<void> {
    const path = `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/pods/${encodeURIComponent(pod)}/log`;
    let last = '';
    const seen = new Set<string>();
    for (let attempt = 0; !this.abort.signal.aborted; attempt++) {
      try {
        await this.kube.streamLines(path, { container: this.container, follow: true, timestamps: true, ...(last ? { sinceTime: `${last.slice(0, 19)}Z` } : {}) }, (raw) => {
          const sp = raw.indexOf(' ');
          const ts = sp > 0 ? raw.slice(0, sp) : '';
          const text = sp > 0 ? raw.slice(sp + 1) : raw;
          if (ts && last && ts < last) return;
          if (seen.has(raw)) return;
          if (ts.slice(0, 19) !== last.slice(0, 19)) seen.clear();
          seen.add(raw);
          if (ts) last = ts;
          s.lines.push(text);
          if (s.lines.length > KEEP) s.lines.shift();
          this.pause();
          this.print(`${s.prefix}${text}`);
        }, this.abort.signal);
        // The server ends a follow stream when the container ends; a cut connection ends it too.
        if (s.finished || this.abort.signal.aborted || (await this.ended(pod))) return;
      } catch (err) {
        // 400 "waiting to start" until the container runs; a pod that is gone ends the stream.
        const status = (err as { httpStatus?: number }).httpStatus;
        if (status === 404) return;
        debug(`logs of ${pod}: ${describeError(err)}`);
        if (s.finished && status !== undefined) return;
      }
      await pause(Math.min(250 * (attempt + 1), 2000));
    }
  }

  /** Whether the pod's container has ended (or the pod is gone): then a stream that ended was the last. */
  private async ended(pod: string): Promise<boolean> {
    try {
      const p = await this.kube.get({ apiVersion: 'v1', kind: 'Pod', namespace: this.namespace }, pod);
      const cs = ((p?.status?.containerStatuses as Record<string, unknown>[] | undefined) ?? []).find((c) => c.name === this.container);
      return !p || (cs?.state as Record<string, unknown> | undefined)?.terminated !== undefined;
    } catch {
      return false;
    }
  }

  /** Wait (at most `ms`) for the streams of ended containers to deliver their last lines. */
  async drain(ms: number): Promise<void> {
    for (const s of this.streams.values()) s.finished = true;
    await Promise.race([Promise.all([...this.streams.values()].map((s) => s.done)), pause(ms)]);
  }

  stop(): void {
    this.abort.abort();
    this.resume();
  }

  /** The last lines of every followed pod, prefixed when more than one. */
  tail(n = 20): string[] {
    return [...this.streams.values()].flatMap((s) => s.lines.slice(-n).map((l) => `${s.prefix}${l}`));
  }
}
