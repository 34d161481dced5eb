import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { DateTime } from 'luxon'
import { formatCredits } from '#core'
import { flushProjections, rebuildTenant } from '#analytics'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

const echo = { name: 'Echo', slug: 'echo', instructions: 'Repeat.', model: 'simulator/echo' }

test.group('analytics / totals agree with money', () => {
  test('credits in analytics equal the ledger charges of the same days, live and after a rebuild', async ({
    client,
    assert,
  }) => {
    const { tenant, token } = await WorkspaceFactory.create({ grant: 1_000_000_000n, token: true })
    await client.post('/api/v1/agents').bearerToken(token).json(echo)
    await client
      .post('/api/v1/agents')
      .bearerToken(token)
      .json({ ...echo, slug: 'lorem', model: 'simulator/lorem', max_tokens: 40 })
    const inputs = ['hello', 'a somewhat longer message for the agent', 'x'.repeat(333)]
    for (const input of inputs)
      (
        await client.post('/api/v1/agents/echo/runs').bearerToken(token).json({ input })
      ).assertStatus(201)
    // Charged for what it produced before failing; and a failure that costs nothing.
    await client
      .post('/api/v1/agents/lorem/runs')
      .bearerToken(token)
      .header('accept', 'text/event-stream')
      .json({ input: 'go', metadata: { simulate: { fail: 'midstream' } } })
    await client
      .post('/api/v1/agents/echo/runs')
      .bearerToken(token)
      .json({ input: 'boom', metadata: { simulate: { fail: '500' } } })

    const today = DateTime.now().setZone(tenant.timeZone)
    const day = today.toISODate()!
    const charges = async () => {
      const row = await db
        .from('ledger_entries')
        .where('tenant_id', tenant.id)
        .where('kind', 'charge')
        .where('created_at', '>=', today.startOf('day').toJSDate())
        .where('created_at', '<', today.startOf('day').plus({ days: 1 }).toJSDate())
        .sum('amount as total')
        .first()
      return -BigInt(row.total ?? 0)
    }
    const usage = async () =>
      (await client.get(`/api/v1/analytics/usage?from=${day}&to=${day}`).bearerToken(token)).body()

    const money = await charges()
    assert.isAbove(Number(money), 0)
    // Projections are batched off the request path.
    await flushProjections()
    const live = await usage()
    assert.equal(live.totals.runs, 5)
    assert.equal(live.totals.errors, 2)
    assert.equal(live.totals.credits, formatCredits(money))
    const perAgent = (
      await client
        .get(`/api/v1/analytics/usage?from=${day}&to=${day}&group_by=agent`)
        .bearerToken(token)
    ).body()
    const sum = perAgent.data.reduce(
      (total: bigint, row: any) => total + BigInt(Math.round(Number(row.credits) * 1e6)),
      0n
    )
    assert.equal(sum, money)

    await rebuildTenant(tenant.id)
    assert.equal((await usage()).totals.credits, formatCredits(money))
  })
})

test.group('analytics / concurrent runs', () => {
  // Runs finishing at the same time upsert the same rollup rows: real transactions needed.
  test('ten runs finishing together are each counted once, and match the ledger', async ({
    client,
    assert,
    cleanup,
  }) => {
    const { tenant, token, owner } = await WorkspaceFactory.create({
      grant: 1_000_000_000n,
      token: true,
    })
    cleanup(async () => {
      await db.from('tenants').where('id', tenant.id).delete()
      await db.from('users').where('id', owner.id).delete()
    })
    await client.post('/api/v1/agents').bearerToken(token).json(echo)
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        client
          .post('/api/v1/agents/echo/runs')
          .bearerToken(token)
          .json({ input: `message ${i}` })
      )
    )
    for (const response of responses) response.assertStatus(201)
    await flushProjections()
    const day = DateTime.now().setZone(tenant.timeZone).toISODate()
    const totals = (
      await client.get(`/api/v1/analytics/usage?from=${day}&to=${day}`).bearerToken(token)
    ).body().totals
    assert.equal(totals.runs, 10)
    const charged = await db
      .from('ledger_entries')
      .where('tenant_id', tenant.id)
      .where('kind', 'charge')
      .sum('amount as total')
      .first()
    assert.equal(totals.credits, formatCredits(-BigInt(charged.total)))
    assert.equal(
      Number(
        (await db.from('projected_runs').where('tenant_id', tenant.id).count('* as n').first()).n
      ),
      10
    )
  }).tags(['@committed'])
})
