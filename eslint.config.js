import tseslint from 'typescript-eslint'
import { modules } from './config/modules.ts'
import { createModuleBoundariesRule } from './config/eslint/module_boundaries.ts'

export default tseslint.config(
  { ignores: ['build/**', 'node_modules/**', 'tmp/**', '.adonisjs/**', 'public/**'] },
  ...tseslint.configs.recommended,
  {
    plugins: { agora: { rules: { 'module-boundaries': createModuleBoundariesRule(modules) } } },
    rules: {
      'agora/module-boundaries': 'error',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  // A promise nobody awaits or handles is a crash waiting for a blip (an unhandled rejection):
  // every background promise in app/ is awaited, handled, or marked `void` with a reason.
  {
    files: ['app/**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          ignoreVoid: false,
          // Lucid's query builders are thenables: `query.where(...)` builds, it does not run.
          allowForKnownSafePromises: [
            {
              from: 'package',
              package: '@adonisjs/lucid',
              name: [
                'DatabaseQueryBuilderContract',
                'ModelQueryBuilderContract',
                'InsertQueryBuilderContract',
                'RawQueryBuilderContract',
              ],
            },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
  // No line over 120 characters (prettier wraps code at 100; this catches long strings, SQL and
  // comments). Tests keep their data as written.
  {
    ignores: ['tests/**'],
    rules: { 'max-len': ['error', { code: 120, ignoreUrls: true, ignoreRegExpLiterals: true }] },
  },
  // config files augment framework interfaces with empty `extends` declarations, by design.
  { files: ['config/**/*.ts'], rules: { '@typescript-eslint/no-empty-object-type': 'off' } }
)
