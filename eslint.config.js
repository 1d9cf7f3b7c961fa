import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Files matching `files` may not import from the named folders of src/ (type imports included). */
function layer(files, forbidden) {
  return [
    {
      files: [files],
      rules: {
        '@typescript-eslint/no-restricted-imports': [
          'error',
          {
            patterns: forbidden.map((folder) => ({
              group: [`**/${folder}/*`, `!./**`],
              message: `${files.split('/')[1]} may not import from src/${folder} (docs/architecture.md, Layers)`,
            })),
          },
        ],
      },
    },
  ];
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
      // prettier wraps code at 140; what it cannot wrap (messages, templates, JSDoc types) may run longer.
      'max-len': [
        'error',
        {
          code: 140,
          ignoreStrings: true,
          ignoreTemplateLiterals: true,
          ignoreRegExpLiterals: true,
          ignoreUrls: true,
          ignorePattern: '^\\s*\\*\\s*@',
        },
      ],
    },
  },
  // The layers (docs/architecture.md): adapters (http, cli) reach the product only through service; service uses
  // engine, match, store, render and image; engine knows nothing of the store; eval is a client, never imported by
  // the product. Folders not named here import nothing of the ones listed for them.
  ...layer('src/http/**', ['cli', 'engine', 'eval', 'image', 'match', 'render', 'store']),
  // The CLI hosts the HTTP server (`facerec serve`) and the evaluation commands: those two are its only extra doors.
  ...layer('src/cli/**', ['engine', 'image', 'match', 'render', 'store']),
  ...layer('src/service/**', ['cli', 'eval', 'http']),
  ...layer('src/engine/**', ['cli', 'eval', 'http', 'match', 'render', 'service', 'store']),
  ...layer('src/store/**', ['cli', 'engine', 'eval', 'http', 'image', 'match', 'render', 'service']),
  ...layer('src/match/**', ['cli', 'engine', 'eval', 'http', 'image', 'render', 'service', 'store']),
  ...layer('src/render/**', ['cli', 'engine', 'eval', 'http', 'match', 'service', 'store']),
  ...layer('src/image/**', ['cli', 'engine', 'eval', 'http', 'match', 'render', 'service', 'store']),
  ...layer('src/core/**', ['cli', 'engine', 'eval', 'http', 'image', 'match', 'render', 'service', 'store']),
  ...layer('src/eval/**', ['cli', 'http']),
  {
    // The web UI: plain ES modules for the browser, no build step.
    files: ['src/web/**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'location',
          'navigator',
          'localStorage',
          'fetch',
          'URL',
          'FormData',
          'File',
          'Blob',
          'HTMLElement',
          'AbortController',
          'setTimeout',
          'clearTimeout',
          'requestAnimationFrame',
          'ResizeObserver',
          'Event',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
);
