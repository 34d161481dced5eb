import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { balanceOf, verifyLedger } from '#credits'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

test.group('agents / runs under concurrency', () => {
  test('40 concurrent runs against credits for exactly k runs: k succeed, the rest get 402', async ({
    client,
    assert,
  }) => {
    // simulator/lorem always produces max_tokens, so the charge equals the hold and no credit
    // is ever freed by a finished run: exactly k fit, whatever the interleaving.
    // 3 bytes of prompt: the hold's estimate (bytes / 3) and the simulator's count (chars / 4)
    // are both 1 token, so the charge is exactly the hold.
    const k = 7
    const perRun = 1 * 1 + 10 * 2
    const { tenant, owner, token } = await WorkspaceFactory.create({
      grant: BigInt(k * perRun),
      token: true,
    })
    try {
      await client.post('/api/v1/agents').bearerToken(token).json({
        name: 'L',
        slug: 'l',
        instructions: 'Go',
        model: 'simulator/lorem',
        max_tokens: 10,
      })
      const responses = await Promise.all(
        Array.from({ length: 40 }, () =>
          client.post('/api/v1/agents/l/runs').bearerToken(token).json({ input: 'g' })
        )
      )
      const statuses = responses.map((r) => r.status())
      assert.equal(statuses.filter((s) => s === 201).length, k)
      assert.equal(statuses.filter((s) => s === 402).length, 40 - k)
      assert.isTrue(
        responses.filter((r) => r.status() === 201).every((r) => r.body().status === 'succeeded')
      )
      const balance = await balanceOf(tenant.id)
      assert.equal(BigInt(balance.balance), 0n)
      assert.equal(BigInt(balance.held), 0n)
      assert.deepEqual(await verifyLedger(tenant.id), [])
    } finally {
      await db.from('tenants').where('id', tenant.id).delete()
      await db.from('users').where('id', owner.id).delete()
    }
  }).tags(['@committed'])

  test('one Idempotency-Key fired 20× concurrently yields one run and one charge', async ({
    client,
    assert,
  }) => {
    const { tenant, owner, token } = await WorkspaceFactory.create({
      grant: 1_000_000_000n,
      token: true,
    })
    try {
      await client
        .post('/api/v1/agents')
        .bearerToken(token)
        .json({ name: 'E', slug: 'e', instructions: 'Repeat.', model: 'simulator/echo' })
      const responses = await Promise.all(
        Array.from({ length: 20 }, () =>
          client
            .post('/api/v1/agents/e/runs')
            .bearerToken(token)
            .header('idempotency-key', 'same')
            .json({ input: 'once only' })
        )
      )
      const statuses = responses.map((r) => r.status())
      assert.isTrue(
        statuses.every((s) => s === 201 || s === 409),
        statuses.join(',')
      )
      const ids = new Set(responses.filter((r) => r.status() === 201).map((r) => r.body().id))
      assert.equal(ids.size, 1)
      const runs = await db.from('runs').where('tenant_id', tenant.id)
      assert.lengthOf(runs, 1)
      const charges = await db
        .from('ledger_entries')
        .where('tenant_id', tenant.id)
        .where('kind', 'charge')
      assert.lengthOf(charges, 1)
      assert.deepEqual(await verifyLedger(tenant.id), [])
    } finally {
      await db.from('tenants').where('id', tenant.id).delete()
      await db.from('users').where('id', owner.id).delete()
    }
  }).tags(['@committed'])
})
