import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import app from '@adonisjs/core/services/app'
import testUtils from '@adonisjs/core/services/test_utils'
import { assert } from '@japa/assert'
import { apiClient, ApiClient } from '@japa/api-client'
import { pluginAdonisJS } from '@japa/plugin-adonisjs'
import { browserClient } from '@japa/browser-client'
import type { Config } from '@japa/runner/types'
import { launchChromium, CHROMIUM_PATH } from '#tests/helpers/chromium'
import { closeSilentConnections } from '#core/http_server'
import { conformsToOpenApi } from '#tests/helpers/openapi'

/*
 * Each run serves HTTP on a free port (unless TEST_PORT pins one), so concurrent runs on one
 * machine never talk to each other's server.
 */
process.env.HOST = '127.0.0.1'
process.env.PORT =
  process.env.TEST_PORT ??
  (await new Promise<string>((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(String(port)))
    })
    probe.on('error', reject)
  }))

/*
 * Browser tests run in Debian's chromium. Missing: skipped with a notice, except under CI=true
 * where a missing browser is a failure.
 */
const hasChromium = existsSync(CHROMIUM_PATH)
if (!hasChromium && process.env.CI === 'true') {
  throw new Error(
    `CI=true but ${CHROMIUM_PATH} is missing: install Debian's chromium (apt-get install chromium).`
  )
}

// Every /api/v1 response a test receives must be one the OpenAPI document describes.
ApiClient.teardown(conformsToOpenApi)

export const plugins: Config['plugins'] = [
  assert(),
  apiClient(),
  pluginAdonisJS(app),
  ...(hasChromium ? [browserClient({ runInSuites: ['browser'], launcher: launchChromium })] : []),
]

/** Migrate once for the run (and roll back afterwards); serve HTTP for functional and browser tests. */
export const runnerHooks: Required<Pick<Config, 'setup' | 'teardown'>> = {
  setup: [
    () => testUtils.db().migrate(),
    async () => {
      const close = await testUtils.httpServer().start()
      // The same hardening as bin/server.ts, so tests exercise it.
      closeSilentConnections((await app.container.make('server')).getNodeServer()!)
      return close
    },
  ],
  teardown: [],
}

/**
 * Each test runs inside a transaction that is rolled back afterwards, unless tagged
 * `@committed` (real concurrency): those commit and clean up their own rows.
 */
export const configureSuite: Config['configureSuite'] = (suite) => {
  if (suite.name === 'browser' && !hasChromium) {
    console.warn(
      `[tests] ${CHROMIUM_PATH} not found: browser tests are skipped (apt-get install chromium).`
    )
    suite.onTest((test) => test.skip(true, 'chromium is not installed'))
    return
  }
  // Tags are applied after a test is added, so the choice is made when the test sets up.
  // A test's runs still executing are ended, and their bookkeeping and the batched analytics
  // projection applied, before its transaction rolls back — never inside the next test's (a
  // late write there runs in the next test's transaction, on its one connection, and can abort
  // it). A committed test settles the same work before its own cleanup deletes its rows.
  const settle = async () => {
    const { abortAllLocalRuns, runsIdle } = await import('#agents/services/run_executor')
    const { flushProjections } = await import('#analytics')
    const { alertsIdle } = await import('#credits')
    abortAllLocalRuns('test over')
    await runsIdle()
    await flushProjections().catch(() => {})
    await alertsIdle()
  }
  const isolate = async (): Promise<() => Promise<void>> => {
    const rollback = (await testUtils.db().withGlobalTransaction()) as () => Promise<void>
    return async () => {
      await settle()
      await rollback()
    }
  }
  const committed = (test: { options: { tags: string[] } }) =>
    test.options.tags.includes('@committed')
  const wrap = (test: Parameters<Parameters<typeof suite.onTest>[0]>[0]) =>
    test
      .setup(() => (committed(test) ? undefined : isolate()))
      // Teardown hooks run before the test's cleanup functions.
      .teardown(() => (committed(test) ? settle() : undefined))
  suite.onTest(wrap)
  suite.onGroup((group) => group.tap(wrap))
}
