import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import emitter from '@adonisjs/core/services/emitter'
import { RunFinished } from '#agents'
import { projectRun, rebuildTenant } from '#analytics'
import { insertAgent, insertRun, rollupRows, zonedWorkspace } from '#tests/analytics/helpers'

async function daily(tenantId: string) {
  const rows = (await db.rawQuery(`SELECT to_char(day, 'YYYY-MM-DD') AS day, sum(runs)::int AS runs FROM usage_daily WHERE tenant_id = ? GROUP BY day ORDER BY day`, [tenantId])).rows
  return Object.fromEntries(rows.map((row: any) => [row.day, row.runs]))
}

async function hourly(tenantId: string) {
  const rows = (await db.rawQuery(`SELECT to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24') AS hour, sum(runs)::int AS runs FROM usage_hourly WHERE tenant_id = ? GROUP BY 1 ORDER BY 1`, [tenantId])).rows
  return Object.fromEntries(rows.map((row: any) => [row.hour, row.runs]))
}

test.group('analytics / projection', () => {
  test('a RunFinished event replayed twice counts the run once', async ({ assert }) => {
    const { tenant } = await zonedWorkspace()
    const runId = await insertRun(tenant.id, { costMicros: 42, latencyMs: 250 })
    await emitter.emit(RunFinished, new RunFinished(tenant.id, runId, 'succeeded', 42n))
    await emitter.emit(RunFinished, new RunFinished(tenant.id, runId, 'succeeded', 42n))
    assert.isFalse(await projectRun(tenant.id, runId))
    const [row] = await db.from('usage_hourly').where('tenant_id', tenant.id)
    assert.equal(row.runs, 1)
    assert.equal(row.credits_micros, '42')
    assert.equal(row.latency_count, 1)
    assert.deepEqual(Object.values(row.latency_hist), [1])
    const [day] = await db.from('usage_daily').where('tenant_id', tenant.id)
    assert.equal(day.runs, 1)
    // Each counted projection bumps the cache version once.
    assert.equal((await db.from('analytics_versions').where('tenant_id', tenant.id).first()).version, '1')
  })

  test('a run still running is not counted; an unknown run or another tenant\'s run is ignored', async ({ assert }) => {
    const { tenant } = await zonedWorkspace()
    const other = await zonedWorkspace()
    const running = await insertRun(tenant.id, { status: 'running' })
    const foreign = await insertRun(other.tenant.id)
    assert.isFalse(await projectRun(tenant.id, running))
    assert.isFalse(await projectRun(tenant.id, foreign))
    assert.lengthOf(await db.from('usage_hourly').where('tenant_id', tenant.id), 0)
    assert.lengthOf(await db.from('usage_hourly').where('tenant_id', other.tenant.id), 0)
  })

  test('a late event lands in the hour and day the run was created, not when it arrived', async ({ assert }) => {
    const { tenant } = await zonedWorkspace()
    const late = await insertRun(tenant.id, { createdAt: '2026-01-10T08:15:00Z' })
    const fresh = await insertRun(tenant.id, { createdAt: '2026-01-12T09:00:00Z' })
    await projectRun(tenant.id, fresh)
    await projectRun(tenant.id, late)
    assert.deepEqual(await hourly(tenant.id), { '2026-01-10T08': 1, '2026-01-12T09': 1 })
    assert.deepEqual(await daily(tenant.id), { '2026-01-10': 1, '2026-01-12': 1 })
  })

  test('hour boundaries: 10:59:59.999 and 11:00:00 fall in different hours', async ({ assert }) => {
    const { tenant } = await zonedWorkspace()
    for (const at of ['2026-02-03T10:00:00.000Z', '2026-02-03T10:59:59.999Z', '2026-02-03T11:00:00.000Z']) {
      await projectRun(tenant.id, await insertRun(tenant.id, { createdAt: at }))
    }
    assert.deepEqual(await hourly(tenant.id), { '2026-02-03T10': 2, '2026-02-03T11': 1 })
  })

  test('days follow the tenant time zone across DST (Europe/Paris, 2026-03-29 and 2026-10-25)', async ({ assert }) => {
    const { tenant } = await zonedWorkspace('Europe/Paris')
    const times = [
      '2026-03-28T22:59:00Z', // 23:59 CET on the 28th
      '2026-03-28T23:00:00Z', // 00:00 CET on the 29th
      '2026-03-29T01:30:00Z', // 03:30 CEST (02:00–03:00 does not exist that night)
      '2026-03-29T21:59:00Z', // 23:59 CEST on the 29th
      '2026-03-29T22:00:00Z', // 00:00 CEST on the 30th
      '2026-10-24T21:59:00Z', // 23:59 CEST on the 24th
      '2026-10-24T22:00:00Z', // 00:00 CEST on the 25th
      '2026-10-25T00:30:00Z', // 02:30 CEST, the first of the two 02:30s
      '2026-10-25T01:30:00Z', // 02:30 CET, the second
      '2026-10-25T22:59:00Z', // 23:59 CET on the 25th
      '2026-10-25T23:00:00Z', // 00:00 CET on the 26th
    ]
    for (const at of times) await projectRun(tenant.id, await insertRun(tenant.id, { createdAt: at }))
    assert.deepEqual(await daily(tenant.id), { '2026-03-28': 1, '2026-03-29': 3, '2026-03-30': 1, '2026-10-24': 1, '2026-10-25': 4, '2026-10-26': 1 })
    // The two 02:30s of the long night are two hours apart in UTC: two hourly rows.
    assert.equal((await hourly(tenant.id))['2026-10-25T00'], 1)
    assert.equal((await hourly(tenant.id))['2026-10-25T01'], 1)
    // A rebuild derives the same days from the hourly rows.
    const projected = await rollupRows(tenant.id)
    await rebuildTenant(tenant.id)
    assert.deepEqual(await rollupRows(tenant.id), projected)
  })

  test('a rebuild reproduces the projections exactly and is deterministic; it also counts runs no event announced', async ({ assert }) => {
    const { tenant, owner } = await zonedWorkspace('America/New_York')
    const agents = [null, (await insertAgent(tenant.id)).id]
    for (let i = 0; i < 40; i++) {
      const id = await insertRun(tenant.id, {
        agentId: agents[i % 2],
        memberId: i % 3 ? owner.id : null,
        model: i % 5 ? 'simulator/echo' : null,
        status: i % 7 === 0 ? 'failed' : i % 11 === 0 ? 'cancelled' : 'succeeded',
        latencyMs: i % 13 === 0 ? null : 37 * i + 5,
        costMicros: i * 3,
        createdAt: new Date(Date.UTC(2026, 2, 7, 0, 0, 0) + i * 47 * 60_000),
      })
      await projectRun(tenant.id, id)
    }
    const projected = await rollupRows(tenant.id)
    assert.isAbove(projected.hourly.length, 10)
    assert.equal((await rebuildTenant(tenant.id)).runs, 40)
    assert.deepEqual(await rollupRows(tenant.id), projected)
    await rebuildTenant(tenant.id)
    assert.deepEqual(await rollupRows(tenant.id), projected)

    // A run that finished without an event (e.g. ended by the stale-run sweeper) is picked up.
    const unannounced = await insertRun(tenant.id, { createdAt: '2026-03-08T12:00:00Z' })
    const counts = await rebuildTenant(tenant.id)
    assert.equal(counts.runs, 41)
    // …and its event arriving afterwards does not count it again.
    assert.isFalse(await projectRun(tenant.id, unannounced))
    const total = async () => Number((await db.from('usage_daily').where('tenant_id', tenant.id).sum('runs as n').first()).n)
    assert.equal(await total(), 41)
  })
})
