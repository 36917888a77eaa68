// The operation waiter's production schedule on a simulated clock (lib/time.ts useClock): an operation
// is noticed within 10% of its length and within 5 s of turning DONE, and the deadline still holds.
import assert from 'node:assert/strict';
import { test } from 'vitest';
import { OperationTimeoutError, POLL_SCHEDULE, pollInterval, waitFor } from '../../actions/lib/operations.js';
import { useClock } from '../../actions/lib/time.js';

function simulated(): { clock: { now: () => number; sleep: (ms: number) => Promise<void> }; slept: number[] } {
  let t = 1_000_000;
  const slept: number[] = [];
  return {
    slept,
    clock: {
      now: () => t,
      sleep: async (ms) => {
        slept.push(ms);
        t += ms;
      },
    },
  };
}

async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return await fn();
  } finally {
    process.stdout.write = write;
  }
}

test('every operation from 0.2 s to 10 min is noticed within 10% of its length and 5 s', async () => {
  const { clock } = simulated();
  const restore = useClock(clock);
  try {
    for (const length of [200, 333, 1000, 4321, 10_000, 45_000, 60_000, 123_456, 600_000]) {
      const doneAt = clock.now() + length;
      await quietly(() => waitFor({ label: 'op', poll: async () => clock.now() >= doneAt, isDone: (d) => d, errorOf: () => undefined }, { initialMs: POLL_SCHEDULE.initialMs }));
      const lag = clock.now() - doneAt;
      assert.ok(lag >= 0 && lag <= Math.min(0.1 * length, 5000), `${length} ms operation noticed ${lag} ms late`);
    }
  } finally {
    restore();
  }
});

test('the interval grows with the time waited, between its floor and its ceiling', () => {
  assert.equal(pollInterval(0, 20), 20);
  assert.equal(pollInterval(10_000, 20), 1000);
  assert.equal(pollInterval(3_600_000, 20), POLL_SCHEDULE.maxMs);
  assert.equal(pollInterval(0, 8000), 8000, 'a floor above the ceiling wins');
});

test('the deadline still ends the wait, with the time waited', async () => {
  const { clock, slept } = simulated();
  const restore = useClock(clock);
  try {
    const deadline = clock.now() + 30_000;
    await assert.rejects(
      quietly(() => waitFor({ label: 'op', poll: async () => false, isDone: (d) => d, errorOf: () => undefined }, { deadline })),
      (err: unknown) => err instanceof OperationTimeoutError && err.waitedMs === 30_000,
    );
    assert.ok(slept.every((ms) => ms <= POLL_SCHEDULE.maxMs));
  } finally {
    restore();
  }
});
