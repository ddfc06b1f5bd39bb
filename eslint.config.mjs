// @ts-check
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

// Node built-ins break workflow determinism (Temporal's samples ban them the same way).
const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
const ioFolders = [
  'activities',
  'bin',
  'platform',
  'connections',
  'relay',
  'orderWorker',
  'matcher',
  'gateway',
  'infra',
  'scripts',
].map((f) => `**/${f}/**`);

export default tseslint.config(
  { ignores: ['node_modules', '.tools', '.data', 'cdk.out', 'coverage', 'bench/results'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins,
          patterns: [
            {
              group: ioFolders,
              message: 'Workflows import only domain/ and @temporalio/workflow.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins,
          patterns: [
            {
              group: [...ioFolders, '**/workflows/**'],
              message: 'domain/ is pure: it imports nothing else of ours.',
            },
          ],
        },
      ],
    },
  },
  {
    // The trading client's core also runs in a browser: the WebSocket comes in as a parameter.
    files: ['client/tradingClient.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [...nodeBuiltins, 'ws'], patterns: ['**/gateway/auth', '**/config/**'] },
      ],
    },
  },
  { files: ['**/*.mjs', '**/*.js'], ...tseslint.configs.disableTypeChecked },
  {
    files: ['*.config.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { module: 'writable', require: 'readonly' },
    },
  },
  prettier,
);
