import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The library's layers, bottom to top: a folder imports only from folders below it (folders on one
 * row do not import each other). `client/` stands alone: it runs in browsers.
 */
const LAYERS = [['base'], ['stores'], ['tokens', 'sessions', 'revocation'], ['core'], ['http'], ['adapters', 'testing']];
const FOLDERS = [...LAYERS.flat(), 'client'];
const LIBRARY = 'packages/tessera-auth/src';

const layerRules = FOLDERS.map((folder) => {
  const level = LAYERS.findIndex((row) => row.includes(folder));
  const allowed = level < 0 ? [] : LAYERS.slice(0, level).flat();
  const forbidden = FOLDERS.filter((other) => other !== folder && !allowed.includes(other));
  return {
    files: [`${LIBRARY}/${folder}/**`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: forbidden.map((other) => `../${other}/*`),
              message: `${folder}/ may import only from ${allowed.join(', ') || 'nothing else in the library'} (the layers are in eslint.config.js).`,
            },
            { group: ['tessera-auth-server', 'tessera-auth-server/*'], message: 'The library never depends on the server.' },
          ],
        },
      ],
    },
  };
});

export default tseslint.config(
  { ignores: ['**/dist/', '.test-build/', 'node_modules/', 'bench/results/', 'docs/api/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      // A leading underscore marks a parameter kept for the signature's sake.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      'no-console': ['error', { allow: ['error'] }],
    },
  },
  ...layerRules,
  {
    // The server is a user of the library: its public entry points only, never its files.
    files: ['packages/tessera-auth-server/src/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/tessera-auth/src/**', '**/tessera-auth/dist/**', 'tessera-auth/src/*', 'tessera-auth/dist/*'],
              message: 'Import the library by its entry points (tessera-auth, tessera-auth/tokens …).',
            },
          ],
        },
      ],
    },
  },
  { files: ['bench/**', 'examples/**', 'packages/tessera-auth-server/src/cli/**', 'test/**'], rules: { 'no-console': 'off' } },
  {
    files: ['**/*.js'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        Request: 'readonly',
        Response: 'readonly',
      },
    },
  },
);
