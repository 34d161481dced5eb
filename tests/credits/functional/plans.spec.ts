import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { DateTime } from 'luxon'
import { changePlan, grantAllowances, verifyLedger } from '#credits'
import { Tenant, suspendTenant } from '#tenants'
import { CreditsAllowance, PlanSet } from '#credits/commands/plan_commands'
import { runCommand } from '#tests/helpers/ace'
import { aceProcess, CREDIT, dropTenants } from '#tests/credits/helpers'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { TenantFactory } from '#database/factories/tenant_factory'

const at = (iso: string) => DateTime.fromISO(iso, { setZone: true }).toJSDate()

async function allowances(tenantId: string) {
  return db
    .from('ledger_entries')
    .where('tenant_id', tenantId)
    .where('kind', 'allowance')
    .orderBy('seq')
    .select('amount', 'idempotency_key', 'reference')
}

test.group('credits / plans and allowances', () => {
  test('GET /api/v1/plans lists free, pro and team with their monthly credits and price', async ({
    client,
    assert,
  }) => {
    const { token } = await WorkspaceFactory.create({ token: true })
    const response = await client.get('/api/v1/plans').bearerToken(token)
    response.assertStatus(200)
    const plans = response.body().data
    const bySlug = Object.fromEntries(plans.map((p: any) => [p.slug, p]))
    assert.includeMembers(Object.keys(bySlug), ['free', 'pro', 'team'])
    assert.deepInclude(bySlug.pro, { name: 'Pro', monthly_credits: '25', price: '19.00' })
    assert.deepInclude(bySlug.free, { monthly_credits: '5', price: '0.00' })
    const packs = await client.get('/api/v1/credits/packs').bearerToken(token)
    assert.deepInclude(packs.body().data[0], { id: 'starter', credits: '10', price: '10.00' })
  })

  test('a plan allowance is granted once per tenant and period, however often it runs', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create({ timeZone: 'Europe/Berlin' })
    const first = await grantAllowances(at('2031-05-10T08:00:00Z'))
    assert.isTrue(first.some((g) => g.tenantId === tenant.id && g.period === '2031-05'))
    // Again the same day, late in the month, and on its last local second: nothing more.
    for (const iso of ['2031-05-10T08:00:01Z', '2031-05-28T00:00:00Z', '2031-05-31T21:59:59Z'])
      assert.isFalse((await grantAllowances(at(iso))).some((g) => g.tenantId === tenant.id))
    // Local midnight on 1 June (22:00 UTC) opens the next period.
    const june = await grantAllowances(at('2031-05-31T22:00:00Z'))
    assert.isTrue(june.some((g) => g.tenantId === tenant.id && g.period === '2031-06'))
    const rows = await allowances(tenant.id)
    assert.deepEqual(
      rows.map((r) => [BigInt(r.amount), r.idempotency_key]),
      [
        [5n * CREDIT, 'allowance:2031-05'],
        [5n * CREDIT, 'allowance:2031-06'],
      ]
    )
    assert.deepEqual(await verifyLedger(tenant.id), [])
  })

  test('31 January → February and leap day: one grant per month in the tenant time zone', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create({ timeZone: 'America/New_York' })
    for (const iso of [
      '2032-01-31T23:59:00-05:00',
      '2032-02-01T00:00:00-05:00',
      '2032-02-29T23:59:59-05:00',
      '2032-03-01T00:00:00-05:00',
    ])
      await grantAllowances(at(iso))
    assert.deepEqual(
      (await allowances(tenant.id)).map((r) => r.idempotency_key),
      ['allowance:2032-01', 'allowance:2032-02', 'allowance:2032-03']
    )
  })

  test('a plan change takes effect from the next period: this month keeps the old allowance', async ({
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create({ timeZone: 'UTC' })
    await grantAllowances(at('2033-03-05T00:00:00Z'))
    const change = await changePlan({
      tenantId: tenant.id,
      planId: 'pro',
      actorId: owner.id,
      at: at('2033-03-20T00:00:00Z'),
    })
    assert.deepEqual(change, { planId: 'pro', effectiveFrom: '2033-04-01' })
    // Still March: nothing more, and the plan has not changed yet.
    await grantAllowances(at('2033-03-31T23:00:00Z'))
    assert.equal((await Tenant.findOrFail(tenant.id)).planId, 'free')
    await grantAllowances(at('2033-04-01T00:10:00Z'))
    assert.equal((await Tenant.findOrFail(tenant.id)).planId, 'pro')
    assert.deepEqual(
      (await allowances(tenant.id)).map((r) => BigInt(r.amount)),
      [5n * CREDIT, 25n * CREDIT]
    )
    const audit = await db
      .from('audit_events')
      .where('tenant_id', tenant.id)
      .whereIn('action', ['credits.plan_change.scheduled', 'credits.plan.changed'])
      .orderBy('id')
      .select('action')
    assert.deepEqual(
      audit.map((a) => a.action),
      ['credits.plan_change.scheduled', 'credits.plan.changed']
    )
  })

  test('choosing the current plan again cancels a scheduled change', async ({ assert }) => {
    const { tenant } = await WorkspaceFactory.create()
    await changePlan({ tenantId: tenant.id, planId: 'team' })
    assert.isNull(await changePlan({ tenantId: tenant.id, planId: 'free' }))
    assert.isNull(await db.from('plan_changes').where('tenant_id', tenant.id).first())
  })

  test('suspended workspaces get no allowance until lifted', async ({ assert }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    await suspendTenant({ tenantId: tenant.id, reason: 'unpaid', actorId: owner.id })
    const grants = await grantAllowances(at('2034-01-10T00:00:00Z'))
    assert.isFalse(grants.some((g) => g.tenantId === tenant.id))
  })

  test('credits:allowance prints one line per grant; plan:set prints the plan and refuses unknown ones', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create({ timeZone: 'UTC' })
    const run = await runCommand(CreditsAllowance, ['--at=2035-07-01T00:00:00Z'])
    assert.equal(run.exitCode, 0, run.stderr)
    assert.match(run.stdout, new RegExp(`^${tenant.slug} 2035-07 5 [0-9a-f-]{36}$`, 'm'))
    const again = await runCommand(CreditsAllowance, ['--at=2035-07-02T00:00:00Z'])
    assert.notInclude(again.stdout, tenant.slug)
    const bad = await runCommand(CreditsAllowance, ['--at=yesterday'])
    assert.notEqual(bad.exitCode, 0)

    const set = await runCommand(PlanSet, [tenant.slug, 'team'])
    assert.equal(set.exitCode, 0, set.stderr)
    assert.equal(set.stdout.trim(), 'team')
    const unknown = await runCommand(PlanSet, [tenant.slug, 'platinum'])
    assert.notEqual(unknown.exitCode, 0)
    assert.include(unknown.stderr, 'no plan "platinum"')
  })

  test('two processes granting at once on PostgreSQL grant each allowance exactly once', async ({
    assert,
  }) => {
    const tenant = await TenantFactory.merge({ name: 'allowance race' }).create()
    try {
      const args = ['credits:allowance', '--at=2036-02-15T12:00:00Z']
      const runs = await Promise.all([aceProcess(args), aceProcess(args), aceProcess(args)])
      for (const run of runs) assert.equal(run.code, 0, run.stderr)
      const lines = runs.flatMap((run) =>
        run.stdout.split('\n').filter((line) => line.startsWith(`${tenant.slug} `))
      )
      assert.lengthOf(lines, 1, 'one process granted it')
      assert.lengthOf(await allowances(tenant.id), 1)
      assert.deepEqual(await verifyLedger(tenant.id), [])
    } finally {
      await dropTenants(tenant.id)
    }
  })
    .tags(['@committed'])
    .skip(
      !process.env.DATABASE_URL,
      'needs PostgreSQL: set DATABASE_URL (other processes cannot open the in-memory PGlite)'
    )
    .timeout(60_000)
})
