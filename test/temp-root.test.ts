import { test } from 'vitest';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { basename } from 'node:path';

test('tests run with their temporary folders under the run\'s own root', () => {
  assert.match(basename(tmpdir()), /^mlabs-test-/);
});
