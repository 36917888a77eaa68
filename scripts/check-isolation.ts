/**
 * `npm run check:isolation -- test/a.test.ts [test/b.test.ts ...]`: runs every test of each file alone,
 * one vitest run per test selected by its exact full name (`-t`), and says which fail when run alone.
 * A test that passes in its file but fails here depends on another test having run first.
 * The runs are sequential (one vitest at a time): this is a check to run on the files you touch, not a suite.
 * `--config=FILE` is handed to vitest (the check's own test uses a fixture config).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

interface Listed {
  name: string;
  file: string;
}

interface JsonReport {
  testResults: { assertionResults: { fullName: string; status: string; failureMessages?: string[] }[] }[];
}

const ROOT = resolve(import.meta.dirname, '..');
const VITEST = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');

/** vitest's own `-t` match is against the suite and test names joined by spaces: this one matches only `names`. */
export function exactNamePattern(names: string[]): string {
  const escaped = names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join(' ');
  return `(^| )${escaped}$`;
}

const passed = process.argv.slice(2);
const config = passed.filter((a) => a.startsWith('--config='));

function vitest(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [VITEST, ...args, ...config], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function list(file: string): Listed[] {
  const r = vitest(['list', file, '--json']);
  const start = r.stdout.indexOf('[');
  if (r.status !== 0 || start < 0) throw new Error(`vitest list ${file} failed:\n${r.stderr || r.stdout}`);
  return JSON.parse(r.stdout.slice(start)) as Listed[];
}

async function main(files: string[]): Promise<number> {
  if (!files.length) {
    console.error('Usage: npm run check:isolation -- test/some.test.ts [more files]');
    return 2;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'mlabs-isolation-'));
  let failed = 0;
  let total = 0;
  try {
    for (const file of files) {
      const tests = list(file);
      console.log(`${relative(ROOT, resolve(file))}: ${tests.length} tests, each alone`);
      for (const [i, t] of tests.entries()) {
        total++;
        const parts = t.name.split(' > ');
        const out = join(tmp, `${i}.json`);
        const r = vitest(['run', file, '-t', exactNamePattern(parts), '--reporter=json', `--outputFile=${out}`]);
        let ran: JsonReport['testResults'][number]['assertionResults'] = [];
        try {
          ran = (JSON.parse(readFileSync(out, 'utf8')) as JsonReport).testResults.flatMap((f) => f.assertionResults).filter((a) => a.status !== 'skipped' && a.status !== 'pending');
        } catch {
          // no report: the run itself failed (reported below)
        }
        const mine = ran.filter((a) => a.fullName === parts.join(' '));
        const ok = r.status === 0 && mine.length === 1 && ran.every((a) => a.status === 'passed');
        if (!ok) failed++;
        const others = ran.length - mine.length;
        console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${t.name}${others ? ` (the name also selected ${others} other test${others > 1 ? 's' : ''})` : ''}`);
        if (!ok) {
          const why = ran.flatMap((a) => a.failureMessages ?? []).join('\n') || r.stderr.slice(-2000) || r.stdout.slice(-2000);
          console.log(why.split('\n').slice(0, 20).map((l) => `       ${l}`).join('\n'));
        }
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`${total - failed} of ${total} tests pass alone${failed ? `; ${failed} do not` : ''}`);
  return failed ? 1 : 0;
}

process.exitCode = await main(passed.filter((a) => !a.startsWith('--config=')));
