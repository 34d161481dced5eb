import { randomUUID } from 'node:crypto'
import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import emitter from '@adonisjs/core/services/emitter'
import { RunFinished, type RunFacts } from '#agents'
import { flushProjections, projectFacts, rebuildTenant } from '#analytics'
import { dashboardCacheCounters } from '#analytics/services/cache'
import { unpackHistogram } from '#analytics/histogram'
import {
  insertRuns,
  projectedRun,
  rollupRows,
  runFacts,
  type RunShape,
} from '#tests/analytics/helpers'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { AgentFactory } from '#database/factories/agent_factory'

async function daily(tenantId: string) {
  const rows = (
    await db.rawQuery(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, sum(runs)::int AS runs FROM usage_daily WHERE tenant_id = ? GROUP BY day ORDER BY day`,
      [tenantId]
    )
  ).rows
  return Object.fromEntries(rows.map((row: any) => [row.day, row.runs]))
}

async function hourly(tenantId: string) {
  const rows = (
    await db.rawQuery(
      `SELECT to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24') AS hour, sum(runs)::int AS runs FROM usage_hourly WHERE tenant_id = ? GROUP BY 1 ORDER BY 1`,
      [tenantId]
    )
  ).rows
  return Object.fromEntries(rows.map((row: any) => [row.hour, row.runs]))
}

async function version(tenantId: string) {
  return Number(
    (await db.from('analytics_versions').where('tenant_id', tenantId).first())?.version ?? 0
  )
}

async function projectedCount(tenantIds: string[]) {
  return Number(
    (await db.from('projected_runs').whereIn('tenant_id', tenantIds).count('* as n').first()).n
  )
}

const emit = (facts: RunFacts) => emitter.emit(RunFinished, new RunFinished(facts))
const failures = async () =>
  (await dashboardCacheCounters.projectionFailures.get()).values.reduce(
    (sum, v) => sum + v.value,
    0
  )

/** Varied runs of a workspace: agents, members, models, statuses, null latencies, many hours. */
function variedShapes(
  count: number,
  agents: (string | null)[],
  memberId: string,
  offset = 0
): RunShape[] {
  return Array.from({ length: count }, (_, i) => ({
    agentId: agents[i % agents.length],
    memberId: i % 3 ? memberId : null,
    model: i % 5 ? (i % 2 ? 'simulator/echo' : 'simulator/lorem') : null,
    status: i % 7 === 0 ? 'failed' : i % 11 === 0 ? 'cancelled' : 'succeeded',
    errorType: ['timeout', 'rate_limited', 'provider_error', 'other'][i % 4],
    latencyMs: i % 13 === 0 ? null : 37 * i + 5 + offset,
    inputTokens: i % 17,
    outputTokens: 3 * i,
    costMicros: i * 1_003 + offset,
    // Every 203 minutes from 27 March: 150 runs reach mid-April (two months, a DST change).
    createdAt: new Date(Date.UTC(2026, 2, 27, 0, 0, 0) + (i + offset) * 203 * 60_000),
  }))
}

test.group('analytics / projection', () => {
  test('a RunFinished event replayed twice counts the run once, from the facts it carries', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create()
    const facts = runFacts(tenant.id, {
      model: null,
      inputTokens: 0,
      outputTokens: 0,
      costMicros: 42,
      latencyMs: 0,
    })
    await emit(facts)
    await emit(facts)
    await flushProjections()
    assert.equal(await projectFacts([facts]), 0)
    const [row] = await db.from('usage_hourly').where('tenant_id', tenant.id)
    assert.equal(row.runs, 1)
    assert.equal(row.credits_micros, '42')
    assert.equal(row.latency_count, 1)
    assert.deepEqual(unpackHistogram(row.latency_hist), { 0: 1 })
    const [day] = await db.from('usage_daily').where('tenant_id', tenant.id)
    assert.equal(day.runs, 1)
    // One batch that counted the run bumps the cache version once; one that counted nothing, never.
    assert.equal(await version(tenant.id), 1)

    await emit(facts)
    await flushProjections()
    assert.equal((await db.from('usage_hourly').where('tenant_id', tenant.id).first()).runs, 1)
    assert.equal(await version(tenant.id), 1)
  })

  test('the listener only buffers: a run reaches the rollups on the next flush, within the flush interval', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create()
    await emit(runFacts(tenant.id))
    assert.lengthOf(await db.from('usage_hourly').where('tenant_id', tenant.id), 0)
    const started = Date.now()
    while (!(await db.from('usage_hourly').where('tenant_id', tenant.id)).length) {
      assert.isBelow(Date.now() - started, 2_000, 'projected by the timer')
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    assert.equal((await db.from('usage_daily').where('tenant_id', tenant.id).first()).runs, 1)
  })

  test('a run still running is not counted; facts of a tenant that no longer exists are dropped, the rest of the batch counts', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create()
    const running = { ...runFacts(tenant.id), status: 'running' } as unknown as RunFacts
    const orphan = runFacts(randomUUID())
    const counted = runFacts(tenant.id)
    assert.equal(await projectFacts([running, orphan, counted]), 1)
    assert.equal((await db.from('usage_hourly').where('tenant_id', tenant.id).first()).runs, 1)
    assert.equal(await projectedCount([tenant.id, orphan.tenantId]), 1)
  })

  test('a batch failing on a tenant deleted after its zone was cached is retried with fresh zones and counts the others', async ({
    assert,
  }) => {
    const gone = await WorkspaceFactory.create()
    const { tenant } = await WorkspaceFactory.create()
    await projectFacts([runFacts(gone.tenant.id)])
    await db.from('tenants').where('id', gone.tenant.id).delete()
    const before = await failures()
    await emit(runFacts(gone.tenant.id))
    await emit(runFacts(tenant.id))
    await flushProjections()
    assert.equal(await failures(), before)
    assert.equal((await db.from('usage_hourly').where('tenant_id', tenant.id).first()).runs, 1)
  })

  test('a batch that fails twice is counted in projection failures, and the next batch projects', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create()
    await flushProjections()
    const before = await failures()
    await emit({ ...runFacts(tenant.id), runId: 'not-a-uuid' })
    await emit({ ...runFacts(tenant.id), runId: 'also-not-a-uuid' })
    await flushProjections()
    assert.equal(await failures(), before + 2)
    assert.lengthOf(await db.from('usage_hourly').where('tenant_id', tenant.id), 0)

    await emit(runFacts(tenant.id))
    await flushProjections()
    assert.equal((await db.from('usage_hourly').where('tenant_id', tenant.id).first()).runs, 1)
  })

  test('a late event lands in the hour and day the run was created, not when it arrived', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create()
    await projectedRun(tenant.id, { createdAt: '2026-01-12T09:00:00Z' })
    await projectedRun(tenant.id, { createdAt: '2026-01-10T08:15:00Z' })
    assert.deepEqual(await hourly(tenant.id), { '2026-01-10T08': 1, '2026-01-12T09': 1 })
    assert.deepEqual(await daily(tenant.id), { '2026-01-10': 1, '2026-01-12': 1 })
  })

  test('hour boundaries: 10:59:59.999 and 11:00:00 fall in different hours', async ({ assert }) => {
    const { tenant } = await WorkspaceFactory.create()
    for (const at of [
      '2026-02-03T10:00:00.000Z',
      '2026-02-03T10:59:59.999Z',
      '2026-02-03T11:00:00.000Z',
    ]) {
      await projectedRun(tenant.id, { createdAt: at })
    }
    assert.deepEqual(await hourly(tenant.id), { '2026-02-03T10': 2, '2026-02-03T11': 1 })
  })

  test('days follow the tenant time zone across DST (Europe/Paris, 2026-03-29 and 2026-10-25)', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create({ timeZone: 'Europe/Paris' })
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
    // All in one batch: the days of a batch are the same as one run at a time.
    await projectFacts(
      await insertRuns(
        tenant.id,
        times.map((createdAt) => ({ createdAt }))
      )
    )
    assert.deepEqual(await daily(tenant.id), {
      '2026-03-28': 1,
      '2026-03-29': 3,
      '2026-03-30': 1,
      '2026-10-24': 1,
      '2026-10-25': 4,
      '2026-10-26': 1,
    })
    // The two 02:30s of the long night are two hours apart in UTC: two hourly rows.
    assert.equal((await hourly(tenant.id))['2026-10-25T00'], 1)
    assert.equal((await hourly(tenant.id))['2026-10-25T01'], 1)
    // A rebuild derives the same days from the hourly rows.
    const projected = await rollupRows(tenant.id)
    await rebuildTenant(tenant.id)
    assert.deepEqual(await rollupRows(tenant.id), projected)
  })

  test('failed runs are counted per error type by UTC hour and local day, once each; a rebuild gives the same rows', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create({ timeZone: 'America/New_York' })
    const facts = await insertRuns(tenant.id, [
      // 23:30 on 1 March in New York: the UTC hour is on the 2nd, the local day the 1st.
      { status: 'failed', errorType: 'timeout', createdAt: '2026-03-02T04:30:00Z' },
      { status: 'failed', errorType: 'timeout', createdAt: '2026-03-02T04:45:00Z' },
      { status: 'failed', errorType: 'rate_limited', createdAt: '2026-03-02T04:50:00Z' },
      { status: 'failed', errorType: 'timeout', createdAt: '2026-03-02T15:00:00Z' },
      { status: 'failed', createdAt: '2026-03-02T15:10:00Z' },
      { status: 'succeeded', createdAt: '2026-03-02T15:20:00Z' },
      { status: 'cancelled', createdAt: '2026-03-02T15:30:00Z' },
    ])
    assert.equal(await projectFacts(facts), 7)
    // Replayed facts change nothing.
    assert.equal(await projectFacts(facts.slice(0, 3)), 0)
    const projected = await rollupRows(tenant.id)
    assert.deepEqual(projected.errorsHourly, [
      { hour: '2026-03-02T04', error_type: 'rate_limited', runs: 1 },
      { hour: '2026-03-02T04', error_type: 'timeout', runs: 2 },
      { hour: '2026-03-02T15', error_type: 'other', runs: 1 },
      { hour: '2026-03-02T15', error_type: 'timeout', runs: 1 },
    ])
    assert.deepEqual(projected.errorsDaily, [
      { day: '2026-03-01', error_type: 'rate_limited', runs: 1 },
      { day: '2026-03-01', error_type: 'timeout', runs: 2 },
      { day: '2026-03-02', error_type: 'other', runs: 1 },
      { day: '2026-03-02', error_type: 'timeout', runs: 1 },
    ])
    // The failures per type add up to the rollups' errors.
    const errors = projected.days.reduce((sum: number, row: any) => sum + row.errors, 0)
    assert.equal(errors, 5)
    await rebuildTenant(tenant.id)
    assert.deepEqual(await rollupRows(tenant.id), projected)

    // A new time zone: the rebuild moves the failures to their new local days.
    await db.from('tenants').where('id', tenant.id).update({ time_zone: 'Asia/Tokyo' })
    await rebuildTenant(tenant.id)
    assert.deepEqual((await rollupRows(tenant.id)).errorsDaily, [
      { day: '2026-03-02', error_type: 'rate_limited', runs: 1 },
      { day: '2026-03-02', error_type: 'timeout', runs: 2 },
      { day: '2026-03-03', error_type: 'other', runs: 1 },
      { day: '2026-03-03', error_type: 'timeout', runs: 1 },
    ])
  })

  test('a rebuild reproduces the projections exactly and is deterministic; it also counts runs no event announced', async ({
    assert,
  }) => {
    const { tenant, owner } = await WorkspaceFactory.create({ timeZone: 'America/New_York' })
    const agents = [null, (await AgentFactory.merge({ tenantId: tenant.id }).create()).id]
    for (const shape of variedShapes(40, agents, owner.id)) await projectedRun(tenant.id, shape)
    const projected = await rollupRows(tenant.id)
    assert.isAbove(projected.hourly.length, 10)
    assert.equal((await rebuildTenant(tenant.id)).runs, 40)
    assert.deepEqual(await rollupRows(tenant.id), projected)
    await rebuildTenant(tenant.id)
    assert.deepEqual(await rollupRows(tenant.id), projected)

    // A run that finished without its event being projected (e.g. a crash) is picked up…
    const [unannounced] = await insertRuns(tenant.id, [{ createdAt: '2026-03-08T12:00:00Z' }])
    const counts = await rebuildTenant(tenant.id)
    assert.equal(counts.runs, 41)
    // …and its event arriving afterwards does not count it again.
    await emit(unannounced)
    await flushProjections()
    const total = async () =>
      Number(
        (await db.from('usage_daily').where('tenant_id', tenant.id).sum('runs as n').first()).n
      )
    assert.equal(await total(), 41)
  })

  test('600 facts of four tenants in batches give the same rollups as one at a time and as a rebuild; versions bump once per tenant and batch', async ({
    assert,
  }) => {
    const zones = ['UTC', 'Europe/Paris', 'Asia/Kolkata', 'America/New_York']
    const worlds: { tenant: { id: string }; facts: RunFacts[] }[] = []
    for (const [i, zone] of zones.entries()) {
      const { tenant, owner } = await WorkspaceFactory.create({ timeZone: zone })
      const agents = [
        null,
        (await AgentFactory.merge({ tenantId: tenant.id }).create()).id,
        (await AgentFactory.merge({ tenantId: tenant.id }).create()).id,
      ]
      worlds.push({
        tenant,
        facts: await insertRuns(tenant.id, variedShapes(150, agents, owner.id, i * 7)),
      })
    }
    const tenantIds = worlds.map((world) => world.tenant.id)
    // Interleaved by tenant: both batches (500 + 100) hold every tenant.
    const facts = worlds[0].facts.flatMap((_, i) => worlds.map((world) => world.facts[i]))
    for (const fact of facts) await emit(fact)
    await flushProjections()
    assert.equal(await projectedCount(tenantIds), 600)
    const batched = await Promise.all(tenantIds.map((id) => rollupRows(id)))
    assert.isAbove(batched[2].daily.length, 3)
    // Three weeks of runs over two months: weekly and monthly rows are compared too.
    assert.isAtLeast(new Set(batched[2].weekly.map((row: any) => row.week)).size, 3)
    assert.isAtLeast(new Set(batched[2].monthly.map((row: any) => row.month)).size, 2)
    // Versions bump per batch, not per run: a handful of batches carried 150 runs of each tenant.
    const versions = await Promise.all(tenantIds.map((id) => version(id)))
    assert.isAtMost(Math.max(...versions), 4)

    const wipe = async () => {
      for (const table of [
        'usage_hourly',
        'usage_daily',
        'usage_dims_daily',
        'usage_dims_weekly',
        'usage_dims_monthly',
        'usage_days',
        'usage_running',
        'usage_errors_hourly',
        'usage_errors_daily',
        'projected_runs',
      ])
        await db.from(table).whereIn('tenant_id', tenantIds).delete()
    }
    await wipe()
    for (const fact of [...facts].reverse()) assert.equal(await projectFacts([fact]), 1)
    assert.deepEqual(await Promise.all(tenantIds.map((id) => rollupRows(id))), batched)

    for (const id of tenantIds) await rebuildTenant(id)
    assert.deepEqual(await Promise.all(tenantIds.map((id) => rollupRows(id))), batched)

    // Replaying everything after the rebuild changes nothing.
    for (const fact of facts) await emit(fact)
    await flushProjections()
    assert.deepEqual(await Promise.all(tenantIds.map((id) => rollupRows(id))), batched)

    // One batch of new runs of every tenant bumps each tenant's version exactly once.
    const before = await Promise.all(tenantIds.map((id) => version(id)))
    const more = (
      await Promise.all(
        tenantIds.map((id) => insertRuns(id, variedShapes(10, [null], randomUUID())))
      )
    ).flat()
    assert.equal(await projectFacts(more), 40)
    assert.deepEqual(
      await Promise.all(tenantIds.map((id) => version(id))),
      before.map((v) => v + 1)
    )
  }).timeout(120_000)
})

test.group('analytics / projection races', () => {
  // Two processes flushing overlapping batches: real transactions on separate connections.
  test('two batches racing on the same run ids count each run once', async ({
    assert,
    cleanup,
  }) => {
    const { tenant, owner } = await WorkspaceFactory.create({ timeZone: 'Europe/Paris' })
    const other = await WorkspaceFactory.create()
    cleanup(async () => {
      await db.from('tenants').whereIn('id', [tenant.id, other.tenant.id]).delete()
      await db.from('users').whereIn('id', [owner.id, other.owner.id]).delete()
    })
    const agents = [null, (await AgentFactory.merge({ tenantId: tenant.id }).create()).id]
    const facts = [
      ...(await insertRuns(tenant.id, variedShapes(90, agents, owner.id))),
      ...(await insertRuns(other.tenant.id, variedShapes(30, [null], other.owner.id))),
    ]
    // Overlapping halves in opposite orders, and a full replay.
    const first = facts.slice(0, 80)
    const second = facts.slice(40).reverse()
    const counted = await Promise.all([
      projectFacts(first),
      projectFacts(second),
      projectFacts(facts),
    ])
    assert.equal(counted[0] + counted[1] + counted[2], 120)
    assert.equal(await projectedCount([tenant.id, other.tenant.id]), 120)

    const projected = [await rollupRows(tenant.id), await rollupRows(other.tenant.id)]
    assert.equal(
      projected[0].hourly.reduce((sum: number, row: any) => sum + row.runs, 0),
      90
    )
    await rebuildTenant(tenant.id)
    await rebuildTenant(other.tenant.id)
    assert.deepEqual([await rollupRows(tenant.id), await rollupRows(other.tenant.id)], projected)
  })
    .tags(['@committed'])
    .timeout(60_000)

  test('six batches of different runs of one workspace at once keep its running sums exact', async ({
    assert,
    cleanup,
  }) => {
    const { tenant, owner } = await WorkspaceFactory.create({ timeZone: 'Europe/Paris' })
    cleanup(async () => {
      await db.from('tenants').where('id', tenant.id).delete()
      await db.from('users').where('id', owner.id).delete()
    })
    const agents = [null, (await AgentFactory.merge({ tenantId: tenant.id }).create()).id]
    const facts = await insertRuns(tenant.id, variedShapes(120, agents, owner.id))
    // Batches of March's last days and of April's second week share no day, week or month
    // row, only the keys' running sums: April's new rows must still get March's deltas, and
    // four interleaved batches of the days between amend the same days at once.
    const before = (day: string) => (fact: RunFacts) => new Date(fact.createdAt) < new Date(day)
    const [march, april] = [
      facts.filter(before('2026-03-30T00:00:00+02:00')),
      facts.filter((fact) => !before('2026-04-06T00:00:00+02:00')(fact)),
    ]
    const between = facts.filter((fact) => !march.includes(fact) && !april.includes(fact))
    assert.isAbove(march.length, 10)
    assert.isAbove(april.length, 10)
    const counted = await Promise.all(
      [march, april, ...[0, 1, 2, 3].map((k) => between.filter((_, i) => i % 4 === k))].map(
        (batch) => projectFacts(batch)
      )
    )
    assert.equal(
      counted.reduce((sum, n) => sum + n, 0),
      120
    )
    const projected = await rollupRows(tenant.id)
    assert.isAbove(projected.running.length, 20)
    await rebuildTenant(tenant.id)
    assert.deepEqual(await rollupRows(tenant.id), projected)
  })
    .tags(['@committed'])
    .timeout(60_000)
})
