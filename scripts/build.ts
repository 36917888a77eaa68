/** `npm run build [-- name ...]`: bundle every action (or the named ones) into its dist/. */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT, buildAction, listActions } from './bundle.js';

// ncc only transpiles: type-check the actions and their library once before bundling any of them.
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
try {
  execFileSync(process.execPath, [tsc, '--noEmit', '-p', join(ROOT, 'actions')], { stdio: 'inherit' });
} catch {
  console.error('Type errors in actions/ (above): fix them before bundling.');
  process.exit(1);
}

const wanted = process.argv.slice(2);
const names = wanted.length ? wanted : listActions();
for (const name of names) {
  const started = Date.now();
  const files = await buildAction(join(ROOT, 'actions', name));
  const size = files.get('index.js')?.length ?? 0;
  console.log(`${name.padEnd(22)} dist/index.js ${(size / 1024).toFixed(1).padStart(7)} KB  (${Date.now() - started} ms)`);
}
