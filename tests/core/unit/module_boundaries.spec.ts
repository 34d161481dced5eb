import { test } from '@japa/runner'
import { Linter } from 'eslint'
import tseslint from 'typescript-eslint'
import { modules } from '#config/modules'
import { createModuleBoundariesRule } from '#config/eslint/module_boundaries'

const cwd = '/project'
const linter = new Linter({ cwd, configType: 'flat' })
const config = [
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser as any },
    plugins: { agora: { rules: { 'module-boundaries': createModuleBoundariesRule(modules) } } },
    rules: { 'agora/module-boundaries': 'error' as const },
  },
]

function lint(file: string, code: string) {
  return linter.verify(code, config, `${cwd}/${file}`).map((message) => message.message)
}

test.group('core / module boundaries lint rule', () => {
  test('allows a declared dependency through its public door', ({ assert }) => {
    assert.deepEqual(lint('app/agents/actions/start_run.ts', "import { hold } from '#credits'"), [])
    assert.deepEqual(
      lint('app/credits/main.ts', "export { grant } from '#credits/actions/grant'"),
      []
    )
    assert.deepEqual(lint('app/credits/x.ts', "import { formatCredits } from '#core'"), [])
  })

  test("rejects another module's internals", ({ assert }) => {
    const errors = lint(
      'app/agents/actions/start_run.ts',
      "import Hold from '#credits/models/hold'"
    )
    assert.lengthOf(errors, 1)
    assert.include(errors[0], "use the public door '#credits'")
  })

  test('rejects an undeclared dependency, even through its door', ({ assert }) => {
    assert.lengthOf(lint('app/credits/services/x.ts', "import { Agent } from '#agents'"), 1)
    assert.lengthOf(lint('app/auth/services/x.ts', "const m = await import('#tenants')"), 1)
  })

  test('core imports no module', ({ assert }) => {
    assert.lengthOf(lint('app/core/x.ts', "import { audit } from '#platform'"), 1)
  })

  test('rejects relative paths that leave the module and re-exports of internals', ({ assert }) => {
    assert.lengthOf(lint('app/agents/x.ts', "import '../credits/models/hold.js'"), 1)
    assert.lengthOf(lint('app/admin/x.ts', "export * from '#credits/models/hold'"), 1)
    assert.deepEqual(lint('app/agents/services/x.ts', "import '../models/agent.js'"), [])
  })

  test('application code may not import test helpers', ({ assert }) => {
    assert.lengthOf(lint('app/credits/x.ts', "import '#tests/helpers/chromium'"), 1)
  })
})
