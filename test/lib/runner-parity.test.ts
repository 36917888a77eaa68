/**
 * The suite's runner protocol (actions/lib/runner.ts) does what @actions/core does for the commands it
 * implements: the same sequence of calls (test/lib/runner-parity-child.ts) through each, in fresh
 * processes with fresh GITHUB_OUTPUT / STATE / ENV / PATH / STEP_SUMMARY files, leaves the same records
 * (heredoc delimiters are random: parsed, and checked against the rule) and the same command lines.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'vitest';
import { ROOT, parseFileCommands, runProgram } from '../harness.js';

const FILES = ['GITHUB_OUTPUT', 'GITHUB_STATE', 'GITHUB_ENV', 'GITHUB_PATH', 'GITHUB_STEP_SUMMARY'] as const;

interface Command {
  command: string;
  properties: Record<string, string>;
  message: string;
}

interface Run {
  files: Record<string, string>;
  /** Workflow commands (`::name k=v,k=v::message` lines) in order, parsed as the runner reads them. */
  commands: Command[];
  lines: string[];
  result: Record<string, unknown>;
}

async function run(impl: 'suite' | 'core', withFiles: boolean): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), `mlabs-parity-${impl}-`));
  try {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      INPUT_IMAGE_TAG: '  v1.2.3  ',
      INPUT_MULTI: 'a\nb',
      STATE_phase: 'main',
    };
    if (withFiles) {
      for (const f of FILES) {
        env[f] = join(dir, f);
        writeFileSync(env[f] as string, '');
      }
    }
    const resultFile = join(dir, 'result.json');
    const child = await runProgram(process.execPath, ['--import', 'tsx', join(ROOT, 'test/lib/runner-parity-child.ts'), impl, resultFile], env);
    assert.equal(child.code, 0, child.stderr);
    const files: Record<string, string> = {};
    if (withFiles) for (const f of FILES) files[f] = readFileSync(join(dir, f), 'utf8');
    const lines = child.stdout.split(/\r?\n/).filter((l) => l.startsWith('::'));
    return {
      files,
      lines,
      commands: lines.map(parseCommand),
      result: JSON.parse(readFileSync(resultFile, 'utf8')) as Record<string, unknown>,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A command line as the runner reads it (`::notice ::m` and `::notice::m` are the same command). */
function parseCommand(line: string): Command {
  const m = /^::([A-Za-z-]+)(?: ([^:]*))?::(.*)$/.exec(line);
  assert.ok(m, `not a workflow command: ${line}`);
  const properties: Record<string, string> = {};
  for (const kv of (m[2] ?? '').split(',').filter(Boolean)) {
    const eq = kv.indexOf('=');
    properties[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return { command: m[1] as string, properties, message: m[3] as string };
}

/** Each `name<<DELIM` record's delimiter: what the heredoc rule says about it. */
function delimiters(text: string): string[] {
  return text
    .split('\n')
    .map((l) => /^[^=<]+<<(.+)$/.exec(l)?.[1])
    .filter((d): d is string => d !== undefined);
}

test('with command files: outputs, state, env, path and summary records match @actions/core', async () => {
  const [ours, theirs] = [await run('suite', true), await run('core', true)];
  for (const f of ['GITHUB_OUTPUT', 'GITHUB_STATE', 'GITHUB_ENV']) {
    assert.deepEqual(parseFileCommands(ours.files[f] ?? ''), parseFileCommands(theirs.files[f] ?? ''), f);
    // The heredoc rule: every record has its own delimiter, starting ghadelimiter_, closed on its own line,
    // appearing nowhere in the values.
    for (const r of [ours, theirs]) {
      const text = r.files[f] ?? '';
      const ds = delimiters(text);
      assert.ok(ds.length > 0, f);
      assert.equal(new Set(ds).size, ds.length, `${f}: a delimiter per record`);
      for (const d of ds) {
        assert.match(d, /^ghadelimiter_[A-Za-z0-9_-]+$/, f);
        assert.equal(text.split('\n').filter((l) => l === d).length, 1, `${f}: ${d} closes its record once`);
      }
    }
  }
  assert.deepEqual(parseFileCommands(ours.files.GITHUB_OUTPUT ?? ''), {
    plain: 'gpu-a',
    multiline: 'line one\nline two\r\nline three',
    number: '42',
    flag: 'true',
    empty: '',
    json: '{"a":[1,2],"b":"x=y<<z"}',
  });
  assert.equal(ours.files.GITHUB_PATH, theirs.files.GITHUB_PATH);
  assert.equal(ours.files.GITHUB_STEP_SUMMARY, theirs.files.GITHUB_STEP_SUMMARY);
  assert.deepEqual(ours.commands, theirs.commands);
  assert.deepEqual(ours.result, theirs.result);
  assert.deepEqual(ours.result.inputs, ['v1.2.3', '', 'a\nb']);
  assert.deepEqual(ours.result.envAfterExport, ['value with = and <<', 'first\nsecond']);
  assert.equal(ours.result.pathHead, '/opt/parity/bin');
});

test('without command files: the same workflow commands as @actions/core (set-output, save-state, set-env, add-path, add-mask, annotations, groups)', async () => {
  const [ours, theirs] = [await run('suite', false), await run('core', false)];
  assert.deepEqual(ours.commands, theirs.commands);
  assert.ok(ours.lines.includes('::set-output name=multiline::line one%0Aline two%0D%0Aline three'), ours.lines.join('\n'));
  assert.ok(ours.lines.includes('::add-mask::s3cr3t-token-value'));
  assert.ok(ours.lines.includes('::warning title=Title%3A with%2C commas::warning: a, b%0Ac'));
  assert.ok(ours.lines.includes('::add-path::/opt/parity/bin'));
  assert.ok(ours.lines.includes('::set-env name=MLABS_PARITY_MULTI::first%0Asecond'));
  assert.ok(ours.lines.includes('::save-state name=phase::post'));
  assert.deepEqual(ours.result, theirs.result);
});
