/**
 * One error discipline in actions/ (the committed bundles excepted): an error shown to the user goes
 * through describeError, which keeps an ActionError's fix (`(err as Error).message` drops it), and
 * every error class sets its own `name` (entry.ts titles the ::error:: with it).
 */
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from './harness.js';

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'dist' || e.name === 'node_modules') continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(path));
    else if (e.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** Uses of a caught value's bare message: `(err as Error).message`, `err instanceof Error ? err.message : ...`. */
function bareMessages(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/\(\s*\w+\s+as\s+Error\s*\)\s*\.message|\b(\w+)\s+instanceof\s+Error\s*\?\s*\1\.message/g)) found.push(m[0]);
  return found;
}

/** Error classes (`class X extends ...Error`) whose body does not set `this.name = 'X'`. */
function unnamedErrorClasses(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/class\s+(\w+)\s+extends\s+(\w*Error)\b[^{]*\{/g)) {
    let depth = 1;
    let i = (m.index as number) + m[0].length;
    for (; i < text.length && depth > 0; i++) depth += text[i] === '{' ? 1 : text[i] === '}' ? -1 : 0;
    const body = text.slice((m.index as number) + m[0].length, i);
    if (!new RegExp(`this\\.name\\s*=\\s*['"]${m[1]}['"]`).test(body)) found.push(m[1] as string);
  }
  return found;
}

test('the checks find what they look for', () => {
  assert.deepEqual(bareMessages("x = `failed: ${(err as Error).message}`; y = e instanceof Error ? e.message : String(e); z = describeError(err);"), [
    '(err as Error).message',
    'e instanceof Error ? e.message',
  ]);
  assert.deepEqual(
    unnamedErrorClasses("class A extends ActionError { constructor() { super('a'); if (x) { y(); } } }\nclass B extends InputError { constructor() { super(); this.name = 'B'; } }\nclass C extends Error {}"),
    ['A', 'C'],
  );
});

test('no error message in actions/ is shown without describeError, and every error class names itself', () => {
  const problems: string[] = [];
  for (const file of sources(join(ROOT, 'actions'))) {
    const text = readFileSync(file, 'utf8');
    const rel = relative(ROOT, file);
    for (const m of bareMessages(text)) problems.push(`${rel}: ${m} drops an ActionError's fix; use describeError(err)`);
    for (const c of unnamedErrorClasses(text)) problems.push(`${rel}: class ${c} does not set this.name = '${c}'`);
  }
  assert.deepEqual(problems, []);
});
