/** The suite's own scheduling: the longest-first table names test files that exist, heaviest first. */
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './harness.js';
import { WEIGHTS, weightOf } from './support/longest-first.js';

test('every file the longest-first table weighs is a test file of the suite', () => {
  const missing = Object.keys(WEIGHTS).filter((f) => !f.endsWith('.test.ts') || !existsSync(join(ROOT, f)));
  assert.deepEqual(missing, [], 'remove or rename these entries in test/support/longest-first.ts');
  assert.ok(weightOf('test/demo.test.ts') > weightOf('test/lib/quantity.test.ts'));
  assert.equal(weightOf('test/no-such.test.ts'), 0);
});
