import { test } from '@japa/runner'
import { DateTime } from 'luxon'
import { projectedRun } from '#tests/analytics/helpers'
import { UserFactory } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { MembershipFactory } from '#database/factories/tenant_factory'
import { ApiTokenFactory } from '#database/factories/api_token_factory'
import { AgentFactory } from '#database/factories/agent_factory'

/** A workspace with two agents and three days of runs (projected). */
async function withUsage() {
  const world = await WorkspaceFactory.create({ token: true })
  const { tenant, owner } = world
  const support = await AgentFactory.merge({
    tenantId: tenant.id,
    name: 'Support, "Tier 1"',
    slug: 'support',
  }).create()
  const sales = await AgentFactory.merge({
    tenantId: tenant.id,
    name: 'Sales',
    slug: 'sales',
  }).create()
  const today = DateTime.now().setZone(tenant.timeZone).startOf('day')
  const at = (days: number, hours = 9) => today.minus({ days }).plus({ hours }).toJSDate()
  const runs = [
    {
      agentId: support.id,
      memberId: owner.id,
      costMicros: 1_500_000,
      latencyMs: 200,
      createdAt: at(2),
    },
    {
      agentId: support.id,
      memberId: owner.id,
      costMicros: 250,
      latencyMs: 400,
      status: 'failed' as const,
      createdAt: at(1),
    },
    {
      agentId: sales.id,
      memberId: null,
      model: 'simulator/lorem',
      costMicros: 33,
      latencyMs: 1000,
      createdAt: at(1),
    },
    { agentId: null, memberId: owner.id, costMicros: 7, latencyMs: 50, createdAt: at(0, 0) },
  ]
  for (const run of runs) await projectedRun(tenant.id, run)
  return { ...world, support, sales, today }
}

test.group('analytics / usage API', () => {
  test('group_by=day: every day of the range in the workspace time zone, with totals', async ({
    client,
    assert,
  }) => {
    const { token, today } = await withUsage()
    const from = today.minus({ days: 3 }).toISODate()!
    const response = await client
      .get(`/api/v1/analytics/usage?from=${from}&to=${today.toISODate()}`)
      .bearerToken(token)
    response.assertStatus(200)
    const body = response.body()
    assert.deepEqual(
      body.data.map((row: any) => row.key),
      [3, 2, 1, 0].map((d) => today.minus({ days: d }).toISODate())
    )
    assert.deepEqual(
      body.data.map((row: any) => row.runs),
      [0, 1, 2, 1]
    )
    const { latency_p50_ms: p50, latency_p95_ms: p95, ...figures } = body.data[1]
    assert.deepEqual(figures, {
      key: today.minus({ days: 2 }).toISODate(),
      label: today.minus({ days: 2 }).toISODate(),
      runs: 1,
      errors: 0,
      input_tokens: 10,
      output_tokens: 5,
      credits: '1.5',
    })
    // Percentiles come from 2 %-wide histogram buckets: within 1 % of the true latency.
    assert.approximately(p50, 200, 2)
    assert.approximately(p95, 200, 2)
    assert.isNull(body.data[0].latency_p50_ms)
    const { latency_p50_ms: t50, latency_p95_ms: t95, ...totals } = body.totals
    assert.deepEqual(totals, {
      runs: 4,
      errors: 1,
      input_tokens: 40,
      output_tokens: 20,
      credits: '1.50029',
    })
    // percentile_cont of 50, 200, 400, 1000: p50 300, p95 910.
    assert.approximately(t50, 300, 3)
    assert.approximately(t95, 910, 9.1)
  })

  test('group_by agent, member and model: keys are ids (model names), labels names', async ({
    client,
    assert,
  }) => {
    const { token, today, support, sales, owner } = await withUsage()
    const range = `from=${today.minus({ days: 6 }).toISODate()}&to=${today.toISODate()}`
    const agents = (
      await client.get(`/api/v1/analytics/usage?${range}&group_by=agent`).bearerToken(token)
    ).body()
    assert.deepEqual(
      agents.data.map((row: any) => [row.key, row.label, row.runs, row.credits]),
      [
        [support.id, 'Support, "Tier 1"', 2, '1.50025'],
        [null, 'Direct model calls', 1, '0.000007'],
        [sales.id, 'Sales', 1, '0.000033'],
      ]
    )
    const members = (
      await client.get(`/api/v1/analytics/usage?${range}&group_by=member`).bearerToken(token)
    ).body()
    assert.deepEqual(
      members.data.map((row: any) => [row.key, row.label, row.runs]),
      [
        [owner.id, owner.name, 3],
        [null, 'No member', 1],
      ]
    )
    const models = (
      await client.get(`/api/v1/analytics/usage?${range}&group_by=model`).bearerToken(token)
    ).body()
    assert.deepEqual(
      models.data.map((row: any) => [row.key, row.label, row.runs]),
      [
        ['simulator/echo', 'simulator/echo', 3],
        ['simulator/lorem', 'simulator/lorem', 1],
      ]
    )
    assert.equal(models.totals.runs, 4)
  })

  test('defaults to the last 30 days, grouped by day', async ({ client, assert }) => {
    const { token } = await withUsage()
    const body = (await client.get('/api/v1/analytics/usage').bearerToken(token)).body()
    assert.lengthOf(body.data, 30)
    assert.equal(body.totals.runs, 4)
  })

  test('invalid input → 422 problem documents naming the field', async ({ client, assert }) => {
    const { token } = await WorkspaceFactory.create({ token: true })
    const cases: [string, string][] = [
      ['group_by=week', 'group_by'],
      ['from=2026-02-30', 'from'],
      ['from=yesterday', 'from'],
      ['to=2026-13-01', 'to'],
      ['from=2026-03-10&to=2026-03-01', 'to'],
      ['from=2024-01-01&to=2026-01-01', 'to'],
    ]
    for (const [query, field] of cases) {
      const response = await client.get(`/api/v1/analytics/usage?${query}`).bearerToken(token)
      response.assertStatus(422)
      assert.include(response.header('content-type'), 'application/problem+json')
      assert.include(
        response.body().errors.map((e: any) => e.field),
        field,
        query
      )
    }
  })

  test('needs the analytics:read ability; every role may read; another tenant sees none of it', async ({
    client,
    assert,
  }) => {
    const { tenant, token } = await withUsage()
    const viewer = await UserFactory.create()
    await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: viewer.id,
      role: 'viewer',
    }).create()
    ;(
      await client
        .get('/api/v1/analytics/usage')
        .bearerToken(await ApiTokenFactory.create(viewer, tenant.id, ['analytics:read']))
    ).assertStatus(200)
    const limited = await client
      .get('/api/v1/analytics/usage')
      .bearerToken(await ApiTokenFactory.create(viewer, tenant.id, ['runs:read']))
    limited.assertStatus(403)
    assert.include(limited.body().detail, 'analytics:read')
    ;(await client.get('/api/v1/analytics/usage')).assertStatus(401)
    const other = await WorkspaceFactory.create({ token: true })
    for (const groupBy of ['day', 'agent', 'member', 'model']) {
      const body = (
        await client.get(`/api/v1/analytics/usage?group_by=${groupBy}`).bearerToken(other.token)
      ).body()
      assert.equal(body.totals.runs, 0)
      assert.isTrue(body.data.every((row: any) => row.runs === 0))
    }
    assert.equal(
      (await client.get('/api/v1/analytics/usage').bearerToken(token)).body().totals.runs,
      4
    )
  })

  test('the OpenAPI document describes the endpoint', async ({ client, assert }) => {
    const doc = (await client.get('/api/v1/openapi.json')).body()
    assert.property(doc.paths, '/analytics/usage')
    assert.deepEqual(
      doc.paths['/analytics/usage'].get.parameters.map((p: any) => p.name),
      ['from', 'to', 'group_by']
    )
    assert.property(doc.components.schemas, 'UsageRow')
  })
})
