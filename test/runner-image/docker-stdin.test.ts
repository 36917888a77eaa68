/**
 * A tool that exits before reading its stdin: image-build gives docker login the registry token on
 * stdin; a docker that exits 1 at once (refusing, or a broken install) must make the action fail
 * with docker's own error line, never crash on the write to the closed pipe. Run 20 times: the
 * crash depended on timing.
 */
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAction } from '../harness.js';

const IMAGE = 'registry.example.test/team/app';
const PASSWORD = 'registry-password-for-stdin-test-0123456789';
const STACK = /^\s+at .+:\d+:\d+\)?$/m;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mlabs-docker-stdin-'));
  mkdirSync(join(dir, 'bin'));
  // Exits 1 at once, without reading stdin.
  writeFileSync(join(dir, 'bin', 'docker'), '#!/bin/sh\necho "Error response from daemon: login refused" >&2\nexit 1\n');
  chmodSync(join(dir, 'bin', 'docker'), 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('docker exiting before it reads the password: an ::error:: naming docker login, no crash, 20 runs in a row', async () => {
  for (let i = 0; i < 20; i++) {
    const run = await runAction('image-build', {
      inputs: { image: IMAGE, username: 'ci', password: PASSWORD },
      env: { PATH: `${join(dir, 'bin')}:${process.env.PATH}`, RUNNER_ARCH: 'X64' },
      post: false,
    });
    const where = `run ${i + 1}:\n${run.main.stdout}\n${run.main.stderr}`;
    assert.equal(run.exitCode, 1, where);
    const errors = run.main.annotations.filter((a) => a.level === 'error');
    assert.equal(errors.length, 1, where);
    assert.match(errors[0]?.message ?? '', /^docker login registry\.example\.test failed with exit code 1: Error response from daemon: login refused/, where);
    assert.doesNotMatch(run.main.stderr, /EPIPE|Error \[|node:internal/, where);
    assert.doesNotMatch(run.main.stdout + run.main.stderr, STACK, where);
    assert.deepEqual(run.leaks(PASSWORD), [], where);
  }
});
