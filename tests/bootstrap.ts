import { existsSync } from 'node:fs'
import app from '@adonisjs/core/services/app'
import testUtils from '@adonisjs/core/services/test_utils'
import { assert } from '@japa/assert'
import { apiClient } from '@japa/api-client'
import { pluginAdonisJS } from '@japa/plugin-adonisjs'
import { browserClient } from '@japa/browser-client'
import type { Config } from '@japa/runner/types'
import { launchChromium, CHROMIUM_PATH } from '#tests/helpers/chromium'

/*
 * Browser tests run in Debian's chromium. Missing: skipped with a notice, except under CI=true
 * where a missing browser is a failure.
 */
const hasChromium = existsSync(CHROMIUM_PATH)
if (!hasChromium && process.env.CI === 'true') {
  throw new Error(`CI=true but ${CHROMIUM_PATH} is missing: install Debian's chromium (apt-get install chromium).`)
}

export const plugins: Config['plugins'] = [
  assert(),
  apiClient(),
  pluginAdonisJS(app),
  ...(hasChromium ? [browserClient({ runInSuites: ['browser'], launcher: launchChromium })] : []),
]

/** Migrate once for the run (and roll back afterwards); serve HTTP for functional and browser tests. */
export const runnerHooks: Required<Pick<Config, 'setup' | 'teardown'>> = {
  setup: [() => testUtils.db().migrate(), () => testUtils.httpServer().start()],
  teardown: [],
}

/**
 * Each test runs inside a transaction that is rolled back afterwards, unless tagged
 * `@committed` (real concurrency): those commit and clean up with `truncateTables`.
 */
export const configureSuite: Config['configureSuite'] = (suite) => {
  if (suite.name === 'browser' && !hasChromium) {
    console.warn(`[tests] ${CHROMIUM_PATH} not found: browser tests are skipped (apt-get install chromium).`)
    suite.onTest((test) => test.skip(true, 'chromium is not installed'))
    return
  }
  suite.onTest((test) => {
    if (!test.options.tags.includes('@committed')) {
      test.setup(() => testUtils.db().withGlobalTransaction())
    }
  })
}
