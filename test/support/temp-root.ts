/**
 * vitest global setup: every temporary folder the tests (and the programs they start: bundles,
 * gcloud, kubectl, the sandbox) make goes under one root, removed when the run ends, so a run
 * leaves nothing behind in the system's temp folder whatever a test forgot to clean.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'mlabs-test-'));
  // Set before the test workers start, so each inherits it; no test changes its own environment.
  process.env.TMPDIR = root;
  return () => rmSync(root, { recursive: true, force: true });
}
