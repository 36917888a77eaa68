// Container logs of the simulated kubelet and the pod log API (`GET .../pods/NAME/log`): `container`,
// `follow` (the stream stays open and ends when the container ends or the pod goes), `tailLines`,
// `sinceTime`, `sinceSeconds`, `timestamps`, `limitBytes` and `previous` (the last terminated
// instance of a restarted container), with the API server's refusals in its words.
import type { ServerResponse } from 'node:http';
import type { Json } from './store.js';

export interface LogLine {
  /** When the line was (or will be) written, ms since the epoch; lines in the future are not served yet. */
  at: number;
  text: string;
}

interface ContainerLog {
  current: LogLine[];
  previous?: LogLine[];
}

/** Lines per `namespace/pod/container`. */
export class LogStore {
  private readonly byKey = new Map<string, ContainerLog>();

  /** Lines written so far (what `kubectl logs` would show now). */
  get(key: string): string[] | undefined {
    const l = this.byKey.get(key);
    if (!l) return undefined;
    const t = Date.now();
    return l.current.filter((x) => x.at <= t).map((x) => x.text);
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** Replace a container's lines, all written now. */
  set(key: string, lines: string[]): void {
    const at = Date.now();
    this.byKey.set(key, { ...this.byKey.get(key), current: lines.map((text) => ({ at, text })) });
  }

  /** Start a container instance: its lines become visible at their times; the prior instance becomes `previous`. */
  start(key: string, lines: LogLine[], restarted: boolean): void {
    const prior = this.byKey.get(key);
    this.byKey.set(key, { current: [...lines], ...(restarted && prior ? { previous: prior.current } : {}) });
  }

  /** Append lines written now. */
  append(key: string, ...texts: string[]): void {
    const l = this.byKey.get(key) ?? { current: [] };
    const at = Date.now();
    l.current.push(...texts.map((text) => ({ at, text })));
    this.byKey.set(key, l);
  }

  /** The container ended: lines that were still to come are dropped (the process is gone). */
  end(key: string): void {
    const l = this.byKey.get(key);
    if (!l) return;
    const t = Date.now();
    l.current = l.current.filter((x) => x.at <= t);
  }

  raw(key: string, previous: boolean): LogLine[] | undefined {
    const l = this.byKey.get(key);
    return previous ? l?.previous : l?.current;
  }

  /** Forget a pod's containers (`namespace/pod`), or one container's key. */
  delete(keyOrPod: string): void {
    for (const k of [...this.byKey.keys()]) if (k === keyOrPod || k.startsWith(`${keyOrPod}/`)) this.byKey.delete(k);
  }
}

export class LogRequestError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

interface PodSource {
  /** The pod now, or undefined once it is deleted. */
  pod(): Json | undefined;
  logs: LogStore;
  /** Called when a follow stream opens (so the server can close it on stop). */
  track(res: ServerResponse): void;
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/(\.\d{3})Z$/, '$1000000Z');

function containerState(pod: Json, container: string): { running: boolean; terminated: boolean; restartCount: number; waiting?: string } {
  const cs = (((pod.status as Json | undefined)?.containerStatuses as Json[] | undefined) ?? []).find((c) => c.name === container);
  const state = (cs?.state ?? {}) as Json;
  return {
    running: state.running !== undefined,
    terminated: state.terminated !== undefined,
    restartCount: Number(cs?.restartCount ?? 0),
    waiting: (state.waiting as Json | undefined)?.reason as string | undefined,
  };
}

/** Serve GET pods/NAME/log. Throws LogRequestError for the API server's refusals. */
export function servePodLog(src: PodSource, res: ServerResponse, namespace: string, name: string, q: URLSearchParams): void {
  const pod = src.pod();
  if (!pod) throw new LogRequestError(404, 'NotFound', `pods "${name}" not found`);
  const containers = (((pod.spec as Json).containers as Json[] | undefined) ?? []).map((c) => String(c.name));
  const container = q.get('container') ?? (containers.length === 1 ? containers[0] : undefined);
  if (!container) throw new LogRequestError(400, 'BadRequest', `a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]`);
  if (!containers.includes(container)) throw new LogRequestError(400, 'BadRequest', `container ${container} is not valid for pod ${name}`);
  const key = `${namespace}/${name}/${container}`;
  const previous = q.get('previous') === 'true';
  const phase = String((pod.status as Json | undefined)?.phase ?? 'Pending');
  const st = containerState(pod, container);
  if (previous) {
    if (!src.logs.raw(key, true)) throw new LogRequestError(400, 'BadRequest', `previous terminated container "${container}" in pod "${name}" not found`);
  } else if (!src.logs.has(key)) {
    const why = st.waiting ?? (phase === 'Pending' ? 'ContainerCreating' : 'PodInitializing');
    if (st.waiting === 'ImagePullBackOff' || st.waiting === 'ErrImagePull') throw new LogRequestError(400, 'BadRequest', `container "${container}" in pod "${name}" is waiting to start: trying and failing to pull image`);
    throw new LogRequestError(400, 'BadRequest', `container "${container}" in pod "${name}" is waiting to start: ${why}`);
  }
  const timestamps = q.get('timestamps') === 'true';
  const sinceTime = q.get('sinceTime');
  const sinceSeconds = q.get('sinceSeconds');
  let since = -Infinity;
  if (sinceTime !== null) {
    since = Date.parse(sinceTime);
    if (!Number.isFinite(since)) throw new LogRequestError(400, 'BadRequest', `parsing time "${sinceTime}" as "2006-01-02T15:04:05Z07:00": cannot parse "${sinceTime}" as "2006"`);
  } else if (sinceSeconds !== null) {
    const s = Number(sinceSeconds);
    if (!Number.isInteger(s) || s < 1) throw new LogRequestError(422, 'Invalid', `PodLogOptions "${name}" is invalid: sinceSeconds: Invalid value: ${sinceSeconds}: must be greater than 0`);
    since = Date.now() - s * 1000;
  }
  const tailRaw = q.get('tailLines');
  const tail = tailRaw === null ? undefined : Number(tailRaw);
  if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw new LogRequestError(422, 'Invalid', `PodLogOptions "${name}" is invalid: tailLines: Invalid value: ${tailRaw}: must be greater than or equal to 0`);
  let budget = q.get('limitBytes') === null ? Infinity : Number(q.get('limitBytes'));
  const format = (l: LogLine): string => `${timestamps ? `${iso(l.at)} ` : ''}${l.text}\n`;
  const visible = (): LogLine[] => {
    const t = Date.now();
    return (src.logs.raw(key, previous) ?? []).filter((l) => l.at <= t && l.at >= since);
  };
  let sent = visible();
  if (tail !== undefined) sent = sent.slice(Math.max(0, sent.length - tail));
  res.writeHead(200, { 'content-type': 'text/plain', ...(q.get('follow') === 'true' && !previous ? { 'transfer-encoding': 'chunked' } : {}) });
  const write = (lines: LogLine[]): boolean => {
    for (const l of lines) {
      const s = format(l);
      if (Buffer.byteLength(s) > budget) {
        res.write(s.slice(0, Math.max(0, budget)));
        return false;
      }
      budget -= Buffer.byteLength(s);
      res.write(s);
    }
    return true;
  };
  if (!write(sent) || q.get('follow') !== 'true' || previous) {
    res.end();
    return;
  }
  // follow: new lines as they are written; the stream ends when the container ends, restarts or the pod goes
  let count = visible().length;
  const instance = st.restartCount;
  src.track(res);
  const timer = setInterval(() => {
    const now = src.pod();
    const lines = visible();
    if (lines.length > count && !write(lines.slice(count))) return stop();
    count = lines.length;
    if (!now) return stop();
    const s = containerState(now, container);
    if (s.terminated || s.restartCount !== instance || ['Succeeded', 'Failed'].includes(String((now.status as Json | undefined)?.phase))) return stop();
  }, 25);
  const stop = (): void => {
    clearInterval(timer);
    if (!res.writableEnded) res.end();
  };
  res.on('close', () => clearInterval(timer));
}
