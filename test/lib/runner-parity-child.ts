/**
 * One sequence of runner-protocol calls, made through the suite's runner (actions/lib/runner.ts) or
 * through @actions/core, chosen by argv[2] (`suite` | `core`). test/lib/runner-parity.test.ts runs
 * both in fresh processes and compares the files and command lines they leave.
 */
import { writeFileSync } from 'node:fs';
import * as core from '@actions/core';
import * as suite from '../../actions/lib/runner.js';

interface Protocol {
  getInput(name: string): string;
  getState(name: string): string;
  setOutput(name: string, value: string | number | boolean): void;
  saveState(name: string, value: string): void;
  exportVariable(name: string, value: string): void;
  addPath(dir: string): void;
  setSecret(value: string): void;
  debug(message: string): void;
  notice(message: string, a?: { title?: string; file?: string; line?: number }): void;
  warning(message: string, a?: { title?: string; file?: string; line?: number }): void;
  error(message: string, a?: { title?: string; file?: string; line?: number }): void;
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
  summary(markdown: string): Promise<void>;
}

const impls: Record<string, Protocol> = {
  suite: {
    ...suite,
    summary: async (md) => suite.appendSummary(md),
  },
  core: {
    getInput: (n) => core.getInput(n),
    getState: (n) => core.getState(n),
    setOutput: (n, v) => core.setOutput(n, v),
    saveState: (n, v) => core.saveState(n, v),
    exportVariable: (n, v) => core.exportVariable(n, v),
    addPath: (d) => core.addPath(d),
    setSecret: (v) => core.setSecret(v),
    debug: (m) => core.debug(m),
    notice: (m, a = {}) => core.notice(m, { title: a.title, file: a.file, startLine: a.line }),
    warning: (m, a = {}) => core.warning(m, { title: a.title, file: a.file, startLine: a.line }),
    error: (m, a = {}) => core.error(m, { title: a.title, file: a.file, startLine: a.line }),
    group: (t, fn) => core.group(t, fn),
    summary: async (md) => {
      await core.summary.addRaw(md, true).write();
    },
  },
};

const p = impls[process.argv[2] ?? ''];
if (!p) throw new Error(`usage: runner-parity-child.ts suite|core RESULT_FILE`);
const result: Record<string, unknown> = {};

result.inputs = [p.getInput('image tag'), p.getInput('missing'), p.getInput('multi')];
result.state = p.getState('phase');
p.setOutput('plain', 'gpu-a');
p.setOutput('multiline', 'line one\nline two\r\nline three');
p.setOutput('number', 42);
p.setOutput('flag', true);
p.setOutput('empty', '');
p.setOutput('json', JSON.stringify({ a: [1, 2], b: 'x=y<<z' }));
p.saveState('phase', 'post');
p.saveState('multi', 'a\nb');
p.exportVariable('MLABS_PARITY', 'value with = and <<');
p.exportVariable('MLABS_PARITY_MULTI', 'first\nsecond');
result.envAfterExport = [process.env.MLABS_PARITY, process.env.MLABS_PARITY_MULTI];
p.addPath('/opt/parity/bin');
result.pathHead = (process.env.PATH ?? '').split(':')[0];
p.setSecret('s3cr3t-token-value');
p.debug('debug with 100% and\nnewline');
p.notice('plain notice');
p.warning('warning: a, b\nc', { title: 'Title: with, commas' });
p.error('error at a place', { title: 'Failed', file: 'actions/x/main.ts', line: 12 });
await p.group('Group: one', async () => {
  p.debug('inside');
});
// Without GITHUB_STEP_SUMMARY core throws where the suite does nothing (outside a runner): only with it.
if (process.env.GITHUB_STEP_SUMMARY) {
  await p.summary('## Heading\n\n| a | b |\n|---|---|\n| 1 | 2 |');
  await p.summary('second part');
}

writeFileSync(process.argv[3] as string, JSON.stringify(result));
