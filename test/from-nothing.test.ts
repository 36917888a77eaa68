/**
 * docs/from-nothing.md: every command in its sh blocks is one a test or the demo also runs (the
 * comment beside it names where, and that file runs that program), or is marked as needing real
 * hardware or a real project.
 */
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './harness.js';

const doc = readFileSync(join(ROOT, 'docs/from-nothing.md'), 'utf8');
const commands = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => (m[1] as string).split('\n').filter((l) => l.trim() !== ''));

/** What a test or the demo must mention for a command to count as run there. */
function keyOf(command: string): RegExp {
  const wf = /npm run workflow -- workflows\/([\w-]+\.yml)/.exec(command);
  if (wf) return new RegExp((wf[1] as string).replace('.', '\\.'));
  const host = /scripts\/runner-host\/runner-host\.sh (\w+)/.exec(command);
  if (host) return new RegExp(`'${host[1]}'`);
  return /$^/;
}

test('every command in docs/from-nothing.md is run by a named test or the demo, or marked as needing real hardware or a project', () => {
  assert.ok(commands.length >= 8, commands.join('\n'));
  for (const line of commands) {
    const [command, comment = ''] = line.split(/\s+# /, 2) as [string, string?];
    assert.ok(comment, `no comment saying where this runs: ${line}`);
    if (/^real (hardware|project)/.test(comment)) continue;
    const where = comment.split(/[,;( ]+/).filter((w) => /^test\/.+\.ts$/.test(w) || w === 'demo');
    assert.ok(where.length > 0, `names no test file or the demo: ${line}`);
    for (const w of where) {
      const file = w === 'demo' ? join(ROOT, 'scripts/demo.ts') : join(ROOT, w);
      assert.ok(existsSync(file), `${w} does not exist (${line})`);
      const text = readFileSync(file, 'utf8');
      if (w === 'demo' && /npm run workflow/.test(command)) {
        assert.match(text, new RegExp(`file: '${(/workflows\/([\w-]+\.yml)/.exec(command)?.[1] ?? '').replace('.', '\\.')}'`), `the demo does not run ${command}`);
      } else {
        assert.match(text, keyOf(command), `${w} does not run ${command.trim()}`);
      }
    }
  }
});

test('the guide names every step in order', () => {
  const steps = [...doc.matchAll(/^## (\d)\. (.+)$/gm)].map((m) => m[2]);
  assert.deepEqual(steps, ['Bootstrap, by a person', 'Repository variables and the one secret', 'The first runner on each machine', 'The platform', "The team's own runner image", 'Switching the machines to the team\'s image', 'Later images: `runner-upgrade`', 'The first burst']);
});
