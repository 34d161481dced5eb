import { test } from '@japa/runner'
import { grant, hold, settle } from '#credits'
import { CREDIT } from '#tests/credits/helpers'
import { UserFactory } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { MembershipFactory } from '#database/factories/tenant_factory'
import { ApiTokenFactory } from '#database/factories/api_token_factory'

test.group('credits / API', () => {
  test('GET /api/v1/credits answers balance, held and available as decimal credit strings', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create({ grant: 10n * CREDIT })
    await hold({ tenantId: tenant.id, amount: 2_500_001n })
    const response = await client
      .get('/api/v1/credits')
      .bearerToken(await ApiTokenFactory.create(owner, tenant.id))
    response.assertStatus(200)
    assert.deepEqual(response.body(), {
      balance: '10',
      held: '2.500001',
      available: '7.499999',
      currency: 'credits',
    })
  })

  test('a workspace that never had credits shows zeros', async ({ client, assert }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const response = await client
      .get('/api/v1/credits')
      .bearerToken(await ApiTokenFactory.create(owner, tenant.id))
    assert.deepEqual(response.body(), {
      balance: '0',
      held: '0',
      available: '0',
      currency: 'credits',
    })
  })

  test('the ledger lists entries newest first and pages through all of them with the cursor', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    for (let i = 1; i <= 23; i++)
      await grant({ tenantId: tenant.id, amount: BigInt(i), reason: `grant ${i}` })
    await settle(await hold({ tenantId: tenant.id, amount: 100n, reference: 'run-x' }), 40n)
    const token = await ApiTokenFactory.create(owner, tenant.id)

    const first = await client.get('/api/v1/credits/ledger').bearerToken(token)
    first.assertStatus(200)
    assert.lengthOf(first.body().data, 20)
    assert.deepEqual(Object.keys(first.body().data[0]).sort(), [
      'agent_id',
      'amount',
      'balance_after',
      'created_at',
      'id',
      'kind',
      'member_id',
      'reference',
    ])
    assert.deepInclude(first.body().data[0], {
      kind: 'charge',
      amount: '-0.00004',
      balance_after: '0.000236',
      reference: 'run-x',
    })
    assert.deepInclude(first.body().data[1], {
      kind: 'grant',
      amount: '0.000023',
      reference: 'grant 23',
    })
    assert.isString(first.body().next_cursor)

    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: any = await client
        .get('/api/v1/credits/ledger')
        .qs(cursor ? { limit: 7, cursor } : { limit: 7 })
        .bearerToken(token)
      page.assertStatus(200)
      seen.push(...page.body().data.map((entry: any) => entry.id))
      cursor = page.body().next_cursor
    } while (cursor)
    assert.lengthOf(seen, 24)
    assert.lengthOf(new Set(seen), 24)
    assert.deepEqual(
      seen.slice(0, 20),
      first.body().data.map((entry: any) => entry.id)
    )

    const charges = await client
      .get('/api/v1/credits/ledger')
      .qs({ kind: 'charge' })
      .bearerToken(token)
    assert.deepEqual(
      charges.body().data.map((entry: any) => entry.kind),
      ['charge']
    )
    assert.isNull(charges.body().next_cursor)
  })

  test('bad limit, cursor or filters → 422 problem naming the field, never a 500', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create({ grant: CREDIT })
    const token = await ApiTokenFactory.create(owner, tenant.id)
    const cases: [Record<string, string>, string][] = [
      [{ limit: '101' }, 'limit'],
      [{ limit: '0' }, 'limit'],
      [{ limit: 'ten' }, 'limit'],
      [{ limit: '1.5' }, 'limit'],
      [{ cursor: 'garbage' }, 'cursor'],
      [{ cursor: Buffer.from('{"at":"2026-01-01","id":"x"}').toString('base64url') }, 'cursor'],
      [
        {
          cursor: Buffer.from(
            JSON.stringify({ at: '2026-01-01T00:00:00.000000Z', id: 'not-a-uuid' })
          ).toString('base64url'),
        },
        'cursor',
      ],
      [{ kind: 'bonus' }, 'kind'],
      [{ from: '2026-13-45' }, 'from'],
      [{ member: 'nobody' }, 'member'],
    ]
    for (const [qs, field] of cases) {
      const response = await client.get('/api/v1/credits/ledger').qs(qs).bearerToken(token)
      assert.equal(response.status(), 422, JSON.stringify(qs))
      assert.include(response.header('content-type'), 'application/problem+json')
      assert.equal(response.body().errors[0].field, field, JSON.stringify(qs))
    }
    const ok = await client.get('/api/v1/credits/ledger').qs({ limit: '100' }).bearerToken(token)
    ok.assertStatus(200)
  })

  test('needs credits:read — a viewer may read, a token without the ability gets 403', async ({
    client,
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create({ grant: CREDIT })
    const viewer = await UserFactory.create()
    await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: viewer.id,
      role: 'viewer',
    }).create()
    ;(
      await client
        .get('/api/v1/credits')
        .bearerToken(await ApiTokenFactory.create(viewer, tenant.id))
    ).assertStatus(200)
    ;(
      await client
        .get('/api/v1/credits/ledger')
        .bearerToken(await ApiTokenFactory.create(viewer, tenant.id, ['credits:read']))
    ).assertStatus(200)
    const narrow = await ApiTokenFactory.create(viewer, tenant.id, ['agents:read'])
    for (const path of ['/api/v1/credits', '/api/v1/credits/ledger']) {
      const response = await client.get(path).bearerToken(narrow)
      response.assertStatus(403)
      assert.include(response.body().detail, 'credits:read')
    }
    ;(await client.get('/api/v1/credits')).assertStatus(401)
  })

  test("another workspace's entries are never returned, even with its cursor", async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create({ grant: CREDIT })
    const { owner: otherOwner, tenant: other } = await WorkspaceFactory.create()
    for (let i = 0; i < 3; i++)
      await grant({ tenantId: other.id, amount: 5n * CREDIT, reason: 'theirs' })
    const theirs = await client
      .get('/api/v1/credits/ledger')
      .qs({ limit: 1 })
      .bearerToken(await ApiTokenFactory.create(otherOwner, other.id))
    const mine = await client
      .get('/api/v1/credits/ledger')
      .qs({ cursor: theirs.body().next_cursor })
      .bearerToken(await ApiTokenFactory.create(owner, tenant.id))
    mine.assertStatus(200)
    assert.isTrue(mine.body().data.every((entry: any) => entry.reference !== 'theirs'))
    const all = await client
      .get('/api/v1/credits/ledger')
      .bearerToken(await ApiTokenFactory.create(owner, tenant.id))
    assert.deepEqual(
      all.body().data.map((entry: any) => entry.reference),
      ['test funds']
    )
    assert.equal(
      (
        await client
          .get('/api/v1/credits')
          .bearerToken(await ApiTokenFactory.create(owner, tenant.id))
      ).body().balance,
      '1'
    )
  })

  test('the OpenAPI document describes both endpoints', async ({ client, assert }) => {
    const doc = (await client.get('/api/v1/openapi.json')).body()
    assert.properties(doc.paths, ['/credits', '/credits/ledger'])
    assert.properties(doc.components.schemas, ['CreditBalance', 'LedgerEntry'])
  })
})
