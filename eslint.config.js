// ESLint (flat config): typescript-eslint's recommended rules on every TypeScript file, ESLint's
// recommended rules on the plain JavaScript (scripts/, the playground's browser module).
// Formatting is Prettier's job (.prettierrc.json), so no stylistic rules here.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const node = { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', performance: 'readonly' };
const browser = {
  document: 'readonly',
  window: 'readonly',
  fetch: 'readonly',
  localStorage: 'readonly',
  sessionStorage: 'readonly',
  URL: 'readonly',
  URLSearchParams: 'readonly',
  setTimeout: 'readonly',
  clearTimeout: 'readonly',
  console: 'readonly',
  performance: 'readonly',
  Image: 'readonly',
  Option: 'readonly',
  AbortController: 'readonly',
  Blob: 'readonly',
  requestAnimationFrame: 'readonly',
  TextDecoder: 'readonly',
};

export default tseslint.config(
  {
    ignores: ['node_modules/', '.scratch/', 'dist/', 'test-output/', 'training/', 'runs/', 'models/', 'src/client/schema.ts', '**/*.d.ts'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      // `_`-prefixed names are deliberately unused (destructuring a field away, positional arguments)
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
    },
  },
  {
    // tests and fixtures build hostile or partial values on purpose
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  { files: ['scripts/**/*.mjs', 'loadtest/**/*.mjs', 'bench/**/*.mjs', '*.js'], languageOptions: { globals: node } },
  { files: ['public/**/*.js'], languageOptions: { sourceType: 'module', globals: browser } },
);
