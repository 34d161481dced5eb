import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { rebuildTenant } from '#analytics'
import { aggregate } from '#analytics/services/rollups'
import { resolveRange } from '#analytics/services/ranges'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { AgentFactory } from '#database/factories/agent_factory'

/**
 * n runs over 3 days, 3 agents, with latencies from a mixture: 70 % log-normal around 600 ms,
 * 30 % log-normal around 6 s (a slow tail), some under 100 ms. Seeded: the same every run.
 */
async function seedLatencies(tenantId: string, agentIds: string[], n: number) {
  await db.rawQuery('SELECT setseed(0.42)')
  await db.rawQuery(
    `INSERT INTO runs (tenant_id, agent_id, status, input, model, latency_ms, source, created_at)
     SELECT ?, (?::uuid[])[1 + i % 3], CASE WHEN i % 17 = 0 THEN 'failed' ELSE 'succeeded' END, 'p', 'simulator/echo',
            greatest(1, round(exp(CASE WHEN random() < 0.7 THEN ln(600) ELSE ln(6000) END + 0.8 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))))::int,
            'test', timestamptz '2026-05-01 00:00:00Z' + (i * interval '13 seconds')
     FROM generate_series(1, ?) i`,
    [tenantId, agentIds, n]
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
  })
})
