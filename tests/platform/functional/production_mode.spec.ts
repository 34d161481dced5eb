import { test } from '@japa/runner'
import router from '@adonisjs/core/services/router'
import { runAgoraToExit } from '#tests/helpers/processes'

/*
 * Production mode, in child processes (the tests themselves run as NODE_ENV=test). None of them
 * may reach a database: DATABASE_URL points at a closed port and Redis is left out.
 */
const PRODUCTION = {
  NODE_ENV: 'production',
  HOST: '127.0.0.1',
  PORT: '0',
  APP_KEY: process.env.APP_KEY,
  DATABASE_URL: 'postgres://postgres@127.0.0.1:1/agora_none',
  REDIS_URL: undefined,
  SMTP_URL: undefined,
}
const DUMMY_SMTP = 'smtp://127.0.0.1:1'

test.group('platform / production mode', () => {
  test('without SMTP_URL the server and ace refuse to start, with one line naming SMTP_URL', async ({
    assert,
  }) => {
    for (const [kind, args] of [
      ['server', []],
      ['ace', ['list']],
    ] as const) {
      const result = await runAgoraToExit(kind, [...args], { ...PRODUCTION, LOG_LEVEL: 'warn' })
      assert.isNotNull(result.code, `${kind} did not exit:\n${result.stdout}${result.stderr}`)
      assert.notEqual(result.code, 0, kind)
      const lines = result.stderr.trim().split('\n')
      assert.lengthOf(lines, 1, `${kind}: ${result.stderr}`)
      assert.match(lines[0], /SMTP_URL is required when NODE_ENV=production/)
    }
  }).timeout(60_000)

  test('production has no development mailbox routes', async ({ assert }) => {
    assert.isTrue(router.has('admin.mailbox.index')) // outside production they exist
    const result = await runAgoraToExit('ace', ['list:routes', '--json'], {
      ...PRODUCTION,
      SMTP_URL: DUMMY_SMTP,
      LOG_LEVEL: 'silent',
    })
    assert.equal(result.code, 0, result.stderr)
    const patterns = JSON.parse(result.stdout).flatMap((domain: any) =>
      domain.routes.map((route: any) => route.pattern)
    )
    assert.include(patterns, '/health/ready')
    assert.notInclude(patterns, '/admin/mailbox')
    assert.notInclude(patterns, '/admin/mailbox/:id')
  }).timeout(60_000)

  test('the demo seed refuses to run in production, saying why', async ({ assert }) => {
    const result = await runAgoraToExit('ace', ['db:seed'], {
      ...PRODUCTION,
      SMTP_URL: DUMMY_SMTP,
      LOG_LEVEL: 'silent',
    })
    assert.notEqual(result.code, 0)
    assert.match(
      result.stdout + result.stderr,
      /creates accounts with a published password: it refuses to run in production/
    )
  }).timeout(60_000)
})
