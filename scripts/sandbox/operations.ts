// The long-running-operation engine: an operation stays RUNNING for `durationMs`, then DONE.
// A matching `operationFailure` fault makes it fail midway instead. Modules own the
// API-visible shape of their operations (GKE Operation, google.longrunning.Operation, ...);
// the engine owns time and outcome.
import type { FaultInjector, CallInfo } from './faults.js';

export interface LroError {
  /** google.rpc code name, e.g. 'INTERNAL', 'RESOURCE_EXHAUSTED'. */
  status: string;
  message: string;
}

export interface LroStart {
  /** The call that started it: used to match operationFailure faults. */
  call: CallInfo;
  /** Default: the sandbox's operationMs. */
  durationMs?: number;
  /**
   * Runs when the time is up. Return an error to end the operation failed (e.g. a stockout),
   * or nothing for success.
   */
  complete: () => LroError | undefined | void;
  /** Runs when the operation ends failed (by fault or by `complete`'s answer). */
  failed?: (error: LroError) => void;
  /** Runs after the operation ended either way. */
  done?: (error: LroError | undefined) => void;
}

export interface Lro {
  id: string;
  status: 'RUNNING' | 'DONE';
  error?: LroError;
  startTime: string;
  endTime?: string;
  /** Resolves when the operation is DONE. */
  finished: Promise<void>;
}

export class OperationEngine {
  private readonly timers = new Set<NodeJS.Timeout>();
  private counter = 0;
  private paused = false;
  private held: (() => void)[] = [];

  constructor(
    private readonly faults: FaultInjector,
    readonly defaultMs: number,
  ) {}

  /** A fresh id in GKE's style: operation-<ms>-<8 hex>. */
  newId(prefix = 'operation'): string {
    this.counter += 1;
    const hex = (Math.floor(Math.random() * 0xffffff) * 256 + (this.counter % 256)).toString(16).padStart(8, '0');
    return `${prefix}-${Date.now()}-${hex}`;
  }

  start(opts: LroStart, id = this.newId()): Lro {
    const duration = opts.durationMs ?? this.defaultMs;
    const fault = this.faults.operationFailureFor(opts.call);
    let resolve!: () => void;
    const lro: Lro = {
      id,
      status: 'RUNNING',
      startTime: new Date().toISOString(),
      finished: new Promise<void>((r) => (resolve = r)),
    };
    const finish = (error: LroError | undefined): void => {
      lro.status = 'DONE';
      lro.endTime = new Date().toISOString();
      if (error) {
        lro.error = error;
        opts.failed?.(error);
      }
      opts.done?.(error);
      resolve();
    };
    if (fault) {
      this.after(Math.floor(duration / 2), () =>
        finish({ status: fault.code ?? 'INTERNAL', message: fault.message ?? 'Operation failed midway: an internal error occurred (injected fault).' }),
      );
    } else {
      this.after(duration, () => finish(opts.complete() ?? undefined));
    }
    return lro;
  }

  /**
   * Freeze time for operations (and every `after` timer): ones that come due while paused wait
   * for resume(). Lets a test observe RUNNING/PROVISIONING states deterministically.
   */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    const due = this.held;
    this.held = [];
    for (const fn of due) fn();
  }

  /** A timer the sandbox clears on stop(). */
  after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.paused) this.held.push(fn);
      else fn();
    }, ms);
    t.unref?.();
    this.timers.add(t);
  }

  stop(): void {
    this.held = [];
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
