import { test } from 'vitest';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runAction } from './harness.js';

const probe = { actionDir: join(ROOT, 'test/fixtures/probe-action'), entry: join(ROOT, 'test/fixtures/probe-action/main.ts') };

test('outputs, exported env, path and summary come back parsed', async () => {
  const run = await runAction('probe', { ...probe, inputs: { greeting: 'good day' } });
  assert.equal(run.exitCode, 0, run.main.stdout + run.main.stderr);
  assert.equal(run.outputs.echoed, 'good day');
  assert.equal(run.exportedEnv.PROBE_GREETING, 'good day');
  assert.deepEqual(run.main.paths, ['/opt/probe/bin']);
  assert.match(run.summary, /\| good day \|/);
});

test('action.yml defaults reach the action as INPUT_ variables', async () => {
  const run = await runAction('probe', probe);
  assert.equal(run.outputs.echoed, 'hello');
});

test('state passes from main to post, and post sees the exported env', async () => {
  const run = await runAction('probe', probe);
  const file = run.main.state.file as string;
  assert.ok(file.startsWith(run.runnerTemp));
  assert.ok(run.post, 'post step ran');
  assert.match(run.post.stdout, /post sees PROBE_GREETING=hello/);
  assert.equal(existsSync(file), false, 'post removed the file');
});

test('post runs after a failing main step; the error carries its fix', async () => {
  const run = await runAction('probe', { ...probe, inputs: { fail: 'true' } });
  assert.equal(run.exitCode, 1);
  const err = run.main.annotations.find((a) => a.level === 'error');
  assert.match(err?.message ?? '', /asked to fail\nFix: set fail: false/);
  assert.equal(run.post?.exitCode, 0);
  assert.equal(existsSync(run.main.state.file as string), false);
});

test('an invalid input fails naming the input, the value and what is accepted', async () => {
  const run = await runAction('probe', { ...probe, inputs: { greeting: 'Hello!' } });
  assert.equal(run.exitCode, 1);
  assert.match(run.main.stdout, /Input "greeting" is "Hello!": expected lowercase words/);
  assert.equal(run.outputs.echoed, undefined);
});

test('a masked secret never appears in clear in the log or summary', async () => {
  const secret = 's3cr3t-token-value';
  const run = await runAction('probe', { ...probe, inputs: { secret } });
  assert.equal(run.exitCode, 0);
  assert.deepEqual(run.main.masks, [secret]);
  assert.match(run.main.log, /secret is \*\*\*/);
  assert.deepEqual(run.leaks(secret), []);
  // The probe really tried to print it, and the leak scan would see a clear copy.
  assert.ok(run.main.stdout.includes('::add-mask::' + secret));
});

test('the leak scan reports a secret that is printed without a mask', async () => {
  const run = await runAction('probe', { ...probe, inputs: { greeting: 'plain words' } });
  assert.deepEqual(run.leaks('plain words', ['echoed']).sort(), ['main env PROBE_GREETING', 'main log', 'main summary', 'post log'].sort());
});
