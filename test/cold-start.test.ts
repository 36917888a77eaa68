// What a bundle loads before its verb runs: no costly Node module (child_process, crypto, https, streams)
// until a verb needs it. Asserted on the modules loaded, never on time (`npm run bench -- cold` times it).
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { listActions } from '../scripts/bundle.js';
import { ROOT, runProgram } from './harness.js';

const COSTLY = ['child_process', 'crypto', 'https', 'http', 'http2', 'net', 'tls', 'dgram', 'stream', 'zlib', 'readline', 'assert', 'worker_threads'];

test('each bundle starts without loading child_process, crypto, https or streams (loaded on first use)', async () => {
  const probe = join(ROOT, 'test/fixtures/load-probe/builtins.cjs');
  for (const name of listActions()) {
    const r = await runProgram(process.execPath, ['-r', probe, join(ROOT, 'actions', name, 'dist', 'index.js')], { PATH: process.env.PATH ?? '', MLABS_LOAD_ONLY: '1' });
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    const line = r.stderr.split('\n').find((l) => l.startsWith('builtins:'));
    assert.ok(line, `${name}: the probe printed nothing\n${r.stderr}`);
    const loaded = JSON.parse(line.slice('builtins:'.length)) as string[];
    const costly = loaded.filter((m) => COSTLY.includes(m.replace(/^internal\//, '').split('/')[0] ?? ''));
    assert.deepEqual(costly, [], `${name} loads at start: ${costly.join(', ')}`);
  }
});
