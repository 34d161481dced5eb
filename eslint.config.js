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
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // config files augment framework interfaces with empty `extends` declarations, by design.
  { files: ['config/**/*.ts'], rules: { '@typescript-eslint/no-empty-object-type': 'off' } }
)
