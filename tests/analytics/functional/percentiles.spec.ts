import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { rebuildTenant } from '#analytics'
import { aggregate, splitRange } from '#analytics/services/rollups'
import { previousRange, resolveRange } from '#analytics/services/ranges'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { AgentFactory } from '#database/factories/agent_factory'

/**
 * n runs over 3 days, 3 agents, with latencies from a mixture: 70 % log-normal around 600 ms,
 * 30 % log-normal around 6 s (a slow tail), some under 100 ms. Seeded: the same every run.
 */
async function seedLatencies(
  tenantId: string,
  agentIds: string[],
  n: number,
  { from = '2026-05-01 00:00:00Z', step = '13 seconds', memberIds = [] as string[] } = {}
) {
  await db.rawQuery('SELECT setseed(0.42)')
  await db.rawQuery(
    `INSERT INTO runs (tenant_id, agent_id, member_id, status, input, model, latency_ms, cost_micros, source, created_at)
     SELECT ?, (?::uuid[])[1 + i % 3], (?::uuid[])[1 + i % 4],
            CASE WHEN i % 17 = 0 THEN 'failed' ELSE 'succeeded' END, 'p', 'simulator/echo',
            greatest(1, round(exp(CASE WHEN random() < 0.7 THEN ln(600) ELSE ln(6000) END + 0.8 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))))::int,
            i * 7, 'test', ?::timestamptz + (i * ?::interval)
     FROM generate_series(1, ?) i`,
    [tenantId, agentIds, memberIds, from, step, n]
  )
}

test.group('analytics / percentiles', () => {
  test('p50, p95 and p99 from merged histograms are within 1 % of percentile_cont on the raw runs', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create({ timeZone: 'Asia/Tokyo' })
    const agents = [
      await AgentFactory.merge({ tenantId: tenant.id, name: 'A' }).create(),
      await AgentFactory.merge({ tenantId: tenant.id, name: 'B' }).create(),
      await AgentFactory.merge({ tenantId: tenant.id, name: 'C' }).create(),
    ]
    await seedLatencies(
      tenant.id,
      agents.map((a) => a.id),
      20_000
    )
    await rebuildTenant(tenant.id)

    const exact = async (agentId?: string) =>
      (
        await db.rawQuery(
          `SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY latency_ms) AS p FROM runs WHERE tenant_id = ? ${agentId ? 'AND agent_id = ?' : ''}`,
          agentId ? [tenant.id, agentId] : [tenant.id]
        )
      ).rows[0].p.map(Number)
    const range = resolveRange(
      { range: 'custom', from: '2026-04-30', to: '2026-05-05' },
      tenant.timeZone
    )
    const result = await aggregate(tenant.id, range)
    const close = (estimate: number | null, truth: number, what: string) => {
      assert.isNotNull(estimate, what)
      assert.isAtMost(
        Math.abs(estimate! - truth) / truth,
        0.01,
        `${what}: ${estimate} vs exact ${truth}`
      )
    }
    const [p50, p95, p99] = await exact()
    assert.equal(result.total.latencyCount, 20_000)
    close(result.total.p50, p50, 'p50')
    close(result.total.p95, p95, 'p95')
    close(result.total.p99, p99, 'p99')
    // Per agent: histograms merged across hours and days of that agent only.
    for (const agent of agents) {
      const [, a95, a99] = await exact(agent.id)
      close(result.groups.agent.get(agent.id)!.p95, a95, `${agent.name} p95`)
      close(result.groups.agent.get(agent.id)!.p99, a99, `${agent.name} p99`)
    }
    // Hourly rows over the same window (the 24h preset's source) give the same answers.
    const hours = resolveRange(
      { range: '24h' },
      'UTC',
      (await import('luxon')).DateTime.fromISO('2026-05-02T00:00:00Z')
    )
    const [h95] = (
      await db.rawQuery(
        `SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p FROM runs WHERE tenant_id = ? AND created_at >= ? AND created_at < ?`,
        [tenant.id, hours.start.toJSDate(), hours.end.toJSDate()]
      )
    ).rows.map((row: any) => Number(row.p))
    close((await aggregate(tenant.id, hours, [])).total.p95, h95, 'hourly p95')
    // An hour range's previous period (the 24 hours before) comes with it, in the same statement.
    const nextDay = resolveRange({ range: '24h' }, 'UTC', hours.end.plus({ days: 1 }))
    const withPrevious = await aggregate(tenant.id, nextDay, [], { previous: true })
    const dayBefore = await aggregate(tenant.id, previousRange(nextDay), [])
    assert.isAbove(dayBefore.total.runs, 0)
    assert.deepEqual(withPrevious.previous, dayBefore.total)
  })
  test('a range holding whole months and weeks agrees with the raw runs (breakdowns and the previous period from running sums)', async ({
    assert,
  }) => {
    const { tenant, owner } = await WorkspaceFactory.create({ timeZone: 'America/New_York' })
    const agents = await Promise.all(
      ['A', 'B', 'C'].map((name) => AgentFactory.merge({ tenantId: tenant.id, name }).create())
    )
    // Every 17 minutes from 25 March to late June (New York time): March's end, April, May, June.
    await seedLatencies(
      tenant.id,
      agents.map((a) => a.id),
      7_800,
      { from: '2026-03-25 04:00:00Z', step: '17 minutes', memberIds: [owner.id] }
    )
    await rebuildTenant(tenant.id)
    const range = resolveRange(
      { range: 'custom', from: '2026-03-29', to: '2026-06-10' },
      tenant.timeZone
    )
    // April and May whole, the week of 1 June, the days around them.
    assert.deepEqual(splitRange(range.fromDay, range.toDay), {
      months: ['2026-04-01', '2026-05-01'],
      weeks: ['2026-06-01'],
      days: [
        ['2026-03-29', '2026-03-31'],
        ['2026-06-08', '2026-06-10'],
      ],
    })
    const result = await aggregate(tenant.id, range)
    const inRange = `tenant_id = ? AND (created_at AT TIME ZONE 'America/New_York')::date BETWEEN ? AND ?`
    const exact = await db.rawQuery(
      `SELECT agent_id, count(*)::int AS runs, count(*) FILTER (WHERE status = 'failed')::int AS errors,
              sum(cost_micros)::text AS credits,
              percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY latency_ms) AS p
       FROM runs WHERE ${inRange} GROUP BY ROLLUP (agent_id)`,
      [tenant.id, range.fromDay, range.toDay]
    )
    assert.lengthOf(exact.rows, 4)
    for (const row of exact.rows) {
      const figures = row.agent_id ? result.groups.agent.get(row.agent_id)! : result.total
      assert.equal(figures.runs, row.runs)
      assert.equal(figures.errors, row.errors)
      assert.equal(figures.creditsMicros, row.credits)
      const [p50, p95] = row.p.map(Number)
      assert.isAtMost(Math.abs(figures.p50! - p50) / p50, 0.01, `p50 ${figures.p50} vs ${p50}`)
      assert.isAtMost(Math.abs(figures.p95! - p95) / p95, 0.01, `p95 ${figures.p95} vs ${p95}`)
    }
    assert.equal(result.total.activeMembers, 1)
    // A quarter of the runs have the member, the rest none.
    const member = result.groups.member
    assert.approximately(member.get(owner.id)!.runs / result.total.runs, 0.25, 0.01)
    assert.equal(member.get(owner.id)!.runs + member.get(null)!.runs, result.total.runs)
    // A breakdown asked alone (the API's group_by) reads only its dimension's rows, and agrees.
    for (const dimension of ['agent', 'member'] as const) {
      const alone = await aggregate(tenant.id, range, [dimension])
      assert.deepEqual([...alone.groups[dimension]], [...result.groups[dimension]])
      assert.equal(alone.groups[dimension === 'agent' ? 'member' : 'agent'].size, 0)
      assert.deepEqual(alone.total, result.total)
    }
    // The series: one bucket per local day, each with that day's runs.
    const perDay = await db.rawQuery(
      `SELECT to_char((created_at AT TIME ZONE 'America/New_York')::date, 'YYYY-MM-DD') AS day, count(*)::int AS n
       FROM runs WHERE ${inRange} GROUP BY 1`,
      [tenant.id, range.fromDay, range.toDay]
    )
    assert.lengthOf(result.groups.bucket, perDay.rows.length)
    for (const row of perDay.rows) assert.equal(result.groups.bucket.get(row.day)!.runs, row.n)
    assert.equal(result.groups.bucket.get('2026-05-05')!.activeMembers, 1)

    // The previous period reads only day totals and still counts its members.
    const previous = previousRange(range)
    const before = await aggregate(tenant.id, previous, [])
    const [{ n }] = (
      await db.rawQuery(`SELECT count(*)::int AS n FROM runs WHERE ${inRange}`, [
        tenant.id,
        previous.fromDay,
        previous.toDay,
      ])
    ).rows
    assert.equal(before.total.runs, n)
    assert.isAbove(n, 0)
    assert.equal(before.total.activeMembers, 1)
    // The dashboard's previous period (running sums: day before the range − day before the
    // previous period) is the same as the previous period's own day totals, percentiles included.
    const withPrevious = await aggregate(tenant.id, range, undefined, { previous: true })
    assert.deepEqual(withPrevious.previous, before.total)
    assert.deepEqual(withPrevious.total, result.total)
    assert.deepEqual([...withPrevious.groups.member], [...result.groups.member])
  })
})
