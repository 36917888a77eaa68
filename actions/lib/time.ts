/** Time: the clock the suite's waiting code reads (real by default; benchmarks simulate it). */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

let clock: Clock = realClock;

/** Epoch ms on the current clock. */
export const now = (): number => clock.now();

/** Waiting, on the current clock. */
export const sleep = (ms: number): Promise<void> => clock.sleep(ms);

/** Run with `c` as the clock (a simulated one: sleep advances it at once); returns the restore function. */
export function useClock(c: Clock): () => void {
  const previous = clock;
  clock = c;
  return () => {
    clock = previous;
  };
}

let deadline: number | undefined;

/**
 * The action's deadline (epoch ms), from its `timeout` input: the transport sends no attempt, and
 * waits no pause, past it. A hung socket therefore ends when the action's time is up.
 */
export function setDeadline(at: number | undefined): void {
  deadline = at;
}

/** The deadline set by setDeadline, if any. */
export const getDeadline = (): number | undefined => deadline;
