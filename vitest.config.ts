import { defineConfig } from 'vitest/config';

// Minimal until the suite's own vitest configuration lands: GitHub's workflow parser imports its JSON
// schemas without import attributes, which Node's loader refuses, so vitest transforms it.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'actions/**/*.test.ts', 'scripts/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'test/.tmp/**'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 240_000,
    hookTimeout: 240_000,
    server: { deps: { inline: ['@actions/workflow-parser'] } },
  },
});
