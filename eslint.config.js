import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', 'node_modules/**', 'test/.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', fetch: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', AbortController: 'readonly', Response: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        {
          paths: ['child_process', 'node:child_process'].map((name) => ({ name, message: 'Run programs through @actions/exec (or lib/tools/exec.ts when they read stdin) with argument arrays.' })),
        },
      ],
    },
  },
  {
    // The one helper that spawns programs itself: it handles the writes to a child's stdin.
    files: ['test/**', 'scripts/**', 'actions/lib/tools/exec.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
