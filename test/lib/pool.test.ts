import assert from 'node:assert/strict';
import { test } from 'vitest';
import { mapLimit } from '../../actions/lib/pool.js';

test('mapLimit keeps at most `limit` calls in flight and returns results in order', async () => {
  let inFlight = 0;
  let peak = 0;
  const out = await mapLimit([5, 1, 4, 2, 3, 0, 6], 3, async (n) => {
    inFlight += 1;
    peak = Math.max(peak, inFlight);
    for (let i = 0; i < n; i++) await Promise.resolve();
    inFlight -= 1;
    return n * 10;
  });
  assert.deepEqual(out, [50, 10, 40, 20, 30, 0, 60]);
  assert.equal(peak, 3);
});

test('mapLimit rejects with the first failure and starts nothing after it', async () => {
  const started: number[] = [];
  await assert.rejects(
    mapLimit([1, 2, 3, 4, 5], 1, async (n) => {
      started.push(n);
      if (n === 2) throw new Error('two failed');
      return n;
    }),
    /two failed/,
  );
  assert.deepEqual(started, [1, 2]);
});

test('mapLimit over nothing is nothing', async () => {
  assert.deepEqual(await mapLimit([], 4, async () => 1), []);
});
