import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import AnalyticsRebuild from '#analytics/commands/analytics_rebuild'
import BenchSeed from '#analytics/commands/bench_seed'
import { runCommand } from '#tests/helpers/ace'
import { insertRun } from '#tests/analytics/helpers'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

test.group('analytics / commands', () => {
  test('analytics:rebuild <slug> rebuilds one tenant from its runs and prints a summary', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create({ timeZone: 'Europe/Paris' })
    await insertRun(tenant.id, { createdAt: '2026-03-29T10:00:00Z' })
    await insertRun(tenant.id, { createdAt: '2026-03-29T10:30:00Z', status: 'failed' })
    await insertRun(tenant.id, { status: 'running' })
    const result = await runCommand(AnalyticsRebuild, [tenant.slug])
    assert.equal(result.exitCode, 0)
    assert.match(result.stdout, /^tenants=1 runs=2 hourly=1 daily=1 seconds=[\d.]+\n$/)
    const [row] = await db.from('usage_daily').where('tenant_id', tenant.id)
    assert.equal(row.runs, 2)
    assert.equal(row.errors, 1)
  })

  test('analytics:rebuild with an unknown slug fails with one line on stderr', async ({
    assert,
  }) => {
    const result = await runCommand(AnalyticsRebuild, ['no-such-tenant'])
    assert.equal(result.exitCode, 1)
    assert.equal(result.stderr, 'error: no tenant with slug "no-such-tenant"\n')
  })

  test('bench:seed refuses the embedded database', async ({ assert }) => {
    const result = await runCommand(BenchSeed, ['--tenant=x', '--runs=10'])
    assert.equal(result.exitCode, 1)
    assert.include(result.stderr, 'needs DATABASE_URL')
  }).skip(!!process.env.DATABASE_URL, 'only meaningful on the embedded database')
})
