/** `npm run build [-- name ...]`: bundle every action (or the named ones) into its dist/, and the mlabs command (`cli`) into cli/dist/. */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT, buildAction, buildCli, listActions } from './bundle.js';

// ncc only transpiles: type-check the actions and their library once before bundling any of them.
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const wanted = process.argv.slice(2);
const names = wanted.length ? wanted : [...listActions(), 'cli'];
for (const project of names.includes('cli') ? ['actions', 'cli'] : ['actions']) {
  try {
    execFileSync(process.execPath, [tsc, '--noEmit', '-p', join(ROOT, project)], { stdio: 'inherit' });
  } catch {
    console.error(`Type errors in ${project}/ (above): fix them before bundling.`);
    process.exit(1);
  }
}

for (const name of names) {
  if (name === 'cli') {
    const started = Date.now();
    const size = (await buildCli()).get('mlabs.cjs')?.length ?? 0;
    console.log(`${'mlabs (cli)'.padEnd(22)} dist/mlabs.cjs ${(size / 1024).toFixed(1).padStart(6)} KB  (${Date.now() - started} ms)`);
    continue;
  }
  const started = Date.now();
  const files = await buildAction(join(ROOT, 'actions', name));
  const size = files.get('index.js')?.length ?? 0;
  console.log(`${name.padEnd(22)} dist/index.js ${(size / 1024).toFixed(1).padStart(7)} KB  (${Date.now() - started} ms)`);
}
