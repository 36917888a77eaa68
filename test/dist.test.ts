/** The committed bundles are what GitHub runs: each must equal a fresh build of its sources. */
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, buildAction, listActions, staleCli, staleFiles } from '../scripts/bundle.js';

test('every committed dist/ equals a fresh build (run `npm run build` and commit dist/ when this fails)', async () => {
  for (const name of listActions()) {
    assert.deepEqual(await staleFiles(join(ROOT, 'actions', name)), [], `actions/${name}/dist is stale`);
  }
});

test('the committed mlabs command (cli/dist/) equals a fresh build (run `npm run build -- cli` and commit cli/dist/ when this fails)', async () => {
  assert.deepEqual(await staleCli(), [], 'cli/dist is stale');
});

test('the stale-bundle guard fails when a source changes and the bundle does not', async () => {
  const dir = join(ROOT, 'test/.tmp/stale-probe');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(join(ROOT, 'test/fixtures/probe-action/action.yml'), join(dir, 'action.yml'));
  // Compiled with the actions' settings, as a folder under actions/ would be (ncc hands rootDir on as written).
  writeFileSync(join(dir, 'tsconfig.json'), '{ "extends": "../../../actions/tsconfig.json", "compilerOptions": { "rootDir": "../../.." } }\n');
  // Same depth below the root as actions/<name>/, so the library import resolves the same way.
  const main = join(dir, 'main.ts');
  appendFileSync(main, "import { info } from '../../../actions/lib/runner.js';\ninfo('probe v1');\n");
  await buildAction(dir);
  assert.deepEqual(await staleFiles(dir), []);
  appendFileSync(main, "info('probe v2');\n");
  assert.deepEqual(await staleFiles(dir), ['index.js differs from a fresh build']);
  rmSync(dir, { recursive: true, force: true });
});
