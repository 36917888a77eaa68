import { defineConfig } from 'vitest/config';
import LongestFirst from './test/support/longest-first.js';

// The suite's tests spawn bundles, sandboxes and real tools (gcloud, kubectl, skopeo): each file runs
// in its own forked process, three at a time on CI's two cores (about half of a file's time is spent
// waiting on a child process, a poll or a socket, so a third file fills the idle core: measured on this
// 2-core machine, 368 s with three against about 550 s with two), with generous per-test limits that
// only stop a hung test (speed is measured by `npm run bench`, never asserted).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'actions/**/*.test.ts', 'scripts/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'test/.tmp/**'],
    globalSetup: ['./test/support/temp-root.ts'],
    pool: 'forks',
    maxWorkers: 3,
    fileParallelism: true,
    // The longest files first (test/support/longest-first.ts), so the run does not end on one of them.
    sequence: { sequencer: LongestFirst },
    // A test that needs another environment stubs it (vi.stubEnv); vitest restores it after the test.
    unstubEnvs: true,
    testTimeout: 240_000,
    hookTimeout: 240_000,
    teardownTimeout: 30_000,
    passWithNoTests: false,
    // GitHub's workflow parser imports its JSON schemas without import attributes, which Node's own
    // loader refuses: let vitest transform it like the suite's code.
    server: { deps: { inline: ['@actions/workflow-parser'] } },
    // Keep the log to what matters: console output of a test is shown only when it fails.
    silent: 'passed-only',
    reporters: ['default', './test/support/closing-line.ts'],
  },
});
