// npm run check:isolation runs each test of a file alone: a test that needs another to run first fails
// there, a test that stands alone passes.
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './harness.js';

test('check:isolation names the test that only passes after another, and passes the one that stands alone', async () => {
  const dir = join(ROOT, 'test/fixtures/isolation');
  const { code, out } = await new Promise<{ code: number; out: string }>((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/check-isolation.ts'), join(dir, 'order.spec.ts'), `--config=${join(dir, 'vitest.config.ts')}`], { cwd: ROOT }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
  assert.equal(code, 1, out);
  assert.match(out, /ok {3}counts one/);
  assert.match(out, /FAIL needs the first to have run/);
  assert.match(out, /1 of 2 tests pass alone; 1 do not/);
});
