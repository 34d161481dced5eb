import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { setFlag } from '#platform'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { UserFactory } from '#database/factories/user_factory'
import { MembershipFactory } from '#database/factories/tenant_factory'
import { ApiTokenFactory } from '#database/factories/api_token_factory'
import { evaluationsIdle } from '#agents/actions/evaluations'
import { documentsIdle } from '#agents/actions/manage_documents'
import FlagSet from '#admin/commands/flag_set'
import { runCommand } from '#tests/helpers/ace'

/*
 * Publishing an agent version to the marketplace, and the catalogue every workspace browses:
 * what a listing shows (and never shows) of its publisher, the flag that gates publishing.
 */

const LISTING = {
  title: 'Returns helper',
  summary: 'Answers questions about returns and refunds for shoe shops.',
  category: 'support',
  tags: ['Refunds', 'retail', 'refunds'],
  examples: ['How long do I have to return shoes?'],
}

async function publisher(client: any, name = 'Shoe Shop') {
  const workspace = await WorkspaceFactory.create({ name, token: true, grant: 1_000_000_000n })
  const agent = await client
    .post('/api/v1/agents')
    .bearerToken(workspace.token)
    .json({
      name: 'Returns',
      slug: 'returns',
      instructions: 'You help with returns. Secret house rule: never mention Lyon.',
      model: 'simulator/echo',
      tools: ['calculator'],
    })
  agent.assertStatus(201)
  // Another agent of the publisher's that must never show through the listing.
  ;(
    await client.post('/api/v1/agents').bearerToken(workspace.token).json({
      name: 'Payroll internal',
      slug: 'payroll',
      instructions: 'Internal only.',
      model: 'simulator/echo',
    })
  ).assertStatus(201)
  return { ...workspace, agentId: agent.body().id as string }
}

const publish = (client: any, token: string, body: object = LISTING, agent = 'returns') =>
  client.post(`/api/v1/agents/${agent}/listing`).bearerToken(token).json(body)

test.group('agents / marketplace: listings', (group) => {
  group.each.setup(() => async () => {
    await setFlag('marketplace.publish', 'global', null, true)
  })

  test("a published version is in every workspace's catalogue with its configuration and nothing else of the publisher", async ({
    client,
    assert,
  }) => {
    const shop = await publisher(client)
    const created = await publish(client, shop.token)
    created.assertStatus(201)
    const listing = created.body()
    assert.equal(created.header('location'), `/api/v1/marketplace/${listing.id}`)
    assert.deepInclude(listing, {
      title: LISTING.title,
      category: 'support',
      tags: ['refunds', 'retail'],
      version: 1,
      publisher: { name: 'Shoe Shop' },
      rating: { average: null, count: 0 },
      eval_pass_rate: null,
      median_credits_per_run: null,
    })
    assert.equal(listing.config.model, 'simulator/echo')
    assert.deepEqual(listing.config.tools, ['calculator'])

    const visitor = await WorkspaceFactory.create({ token: true })
    const browse = await client.get('/api/v1/marketplace').bearerToken(visitor.token)
    browse.assertStatus(200)
    assert.include(
      browse.body().data.map((l: any) => l.id),
      listing.id
    )
    const detail = await client.get(`/api/v1/marketplace/${listing.id}`).bearerToken(visitor.token)
    detail.assertStatus(200)
    const text = JSON.stringify(detail.body())
    for (const secret of [shop.tenant.id, shop.tenant.slug, shop.agentId, 'payroll', 'Payroll'])
      assert.notInclude(text, secret)
    assert.notInclude(JSON.stringify(browse.body()), shop.tenant.id)

    const found = await client
      .get('/api/v1/marketplace')
      .qs({ q: 'refund shoes', category: 'support' })
      .bearerToken(visitor.token)
    assert.deepEqual(
      found.body().data.map((l: any) => l.id),
      [listing.id]
    )
    const none = await client
      .get('/api/v1/marketplace')
      .qs({ q: 'astronomy' })
      .bearerToken(visitor.token)
    assert.deepEqual(none.body().data, [])
    const otherCategory = await client
      .get('/api/v1/marketplace')
      .qs({ category: 'coding' })
      .bearerToken(visitor.token)
    assert.notInclude(
      otherCategory.body().data.map((l: any) => l.id),
      listing.id
    )
    const badCategory = await client
      .get('/api/v1/marketplace')
      .qs({ category: 'spam' })
      .bearerToken(visitor.token)
    badCategory.assertStatus(422)
    assert.equal(badCategory.body().errors[0].field, 'category')
  })

  test('republishing moves the listing to the current version; unpublishing takes it away', async ({
    client,
    assert,
  }) => {
    const shop = await publisher(client)
    const first = (await publish(client, shop.token)).body()
    ;(
      await client
        .patch('/api/v1/agents/returns')
        .bearerToken(shop.token)
        .json({ instructions: 'Version two.' })
    ).assertStatus(200)
    const again = await publish(client, shop.token, { ...LISTING, title: 'Returns helper 2' })
    again.assertStatus(201)
    assert.equal(again.body().id, first.id)
    assert.equal(again.body().version, 2)
    assert.equal(again.body().config.instructions, 'Version two.')

    ;(await client.delete('/api/v1/agents/returns/listing').bearerToken(shop.token)).assertStatus(
      204
    )
    ;(await client.get(`/api/v1/marketplace/${first.id}`).bearerToken(shop.token)).assertStatus(404)
    const list = await client.get('/api/v1/marketplace').bearerToken(shop.token)
    assert.notInclude(
      list.body().data.map((l: any) => l.id),
      first.id
    )
    ;(await client.delete('/api/v1/agents/returns/listing').bearerToken(shop.token)).assertStatus(
      404
    )
  })

  test('versions that cannot travel, bad fields, members and read-only tokens are refused', async ({
    client,
    assert,
  }) => {
    const shop = await publisher(client)
    for (const [body, field] of [
      [{ ...LISTING, title: '' }, 'title'],
      [{ ...LISTING, summary: 'x'.repeat(501) }, 'summary'],
      [{ ...LISTING, category: 'spam' }, 'category'],
      [{ ...LISTING, tags: Array.from({ length: 11 }, (_, i) => `t${i}`) }, 'tags'],
    ] as const) {
      const refused = await publish(client, shop.token, body)
      refused.assertStatus(422)
      assert.equal(refused.body().errors[0].field, field)
    }
    ;(
      await client
        .patch('/api/v1/agents/returns')
        .bearerToken(shop.token)
        .json({ tools: [{ type: 'agent', agent: 'payroll' }] })
    ).assertStatus(200)
    const handoff = await publish(client, shop.token)
    handoff.assertStatus(422)
    assert.equal(handoff.body().errors[0].field, 'tools')

    const document = await client
      .post('/api/v1/knowledge/documents')
      .bearerToken(shop.token)
      .json({ name: 'rules.md', text: 'Internal rules.' })
    await documentsIdle()
    ;(
      await client
        .patch('/api/v1/agents/returns')
        .bearerToken(shop.token)
        .json({ tools: [], knowledge: { documents: [document.body().id] } })
    ).assertStatus(200)
    const knowledge = await publish(client, shop.token)
    knowledge.assertStatus(422)
    assert.equal(knowledge.body().errors[0].field, 'knowledge')

    const member = await UserFactory.create()
    await MembershipFactory.merge({
      tenantId: shop.tenant.id,
      userId: member.id,
      role: 'member',
    }).create()
    const memberToken = await ApiTokenFactory.create(member, shop.tenant.id, [])
    ;(await publish(client, memberToken, LISTING, 'payroll')).assertStatus(403)
    const reader = await ApiTokenFactory.create(shop.owner, shop.tenant.id, ['agents:read'])
    ;(await publish(client, reader, LISTING, 'payroll')).assertStatus(403)
    // payroll itself is publishable by the owner.
    ;(await publish(client, shop.token, LISTING, 'payroll')).assertStatus(201)
  })

  test('the marketplace.publish flag: off globally refuses, on for one workspace allows it; flag:set switches it', async ({
    client,
    assert,
  }) => {
    const shop = await publisher(client)
    const off = await runCommand(FlagSet, ['marketplace.publish', 'off'])
    assert.equal(off.exitCode, 0, off.stderr)
    const refused = await publish(client, shop.token)
    refused.assertStatus(403)
    assert.include(refused.body().detail, 'switched off for this workspace')
    const on = await runCommand(FlagSet, [
      'marketplace.publish',
      'on',
      `--tenant=${shop.tenant.slug}`,
    ])
    assert.equal(on.exitCode, 0, on.stderr)
    ;(await publish(client, shop.token)).assertStatus(201)
    // The tenant's row decides over the plan's and the global one.
    await setFlag('marketplace.publish', 'plan', shop.tenant.planId, false)
    ;(await publish(client, shop.token)).assertStatus(201)
    await setFlag('marketplace.publish', 'tenant', shop.tenant.id, null)
    ;(await publish(client, shop.token)).assertStatus(403)
    const unknown = await runCommand(FlagSet, ['marketplace.nope', 'on'])
    assert.equal(unknown.exitCode, 1)
    await setFlag('marketplace.publish', 'plan', shop.tenant.planId, null)
  })

  test("a listing shows its version's latest evaluation pass rate and median credits per run", async ({
    client,
    assert,
  }) => {
    const shop = await publisher(client)
    for (const input of ['one', 'two', 'three'])
      (
        await client.post('/api/v1/agents/returns/runs').bearerToken(shop.token).json({ input })
      ).assertStatus(201)
    const suite = await client
      .post('/api/v1/agents/returns/eval-suites')
      .bearerToken(shop.token)
      .json({
        name: 'Smoke',
        cases: [
          { input: 'refund', assertions: [{ type: 'contains', value: 'refund' }] },
          { input: 'refund', assertions: [{ type: 'contains', value: 'Lyon' }] },
        ],
      })
    ;(
      await client
        .post(`/api/v1/eval-suites/${suite.body().id}/runs`)
        .bearerToken(shop.token)
        .json({})
    ).assertStatus(202)
    await evaluationsIdle()
    const listing = (await publish(client, shop.token)).body()
    assert.equal(listing.eval_pass_rate, 0.5)
    assert.isAbove(listing.median_credits_per_run, 0)
  })

  test('install makes a linked copy that runs on the installer; a new version is offered and applied', async ({
    client,
    assert,
  }) => {
    const shop = await publisher(client)
    const listing = (await publish(client, shop.token)).body()
    const buyer = await WorkspaceFactory.create({ token: true, grant: 1_000_000_000n })
    const installed = await client
      .post(`/api/v1/marketplace/${listing.id}/installs`)
      .bearerToken(buyer.token)
      .json({})
    installed.assertStatus(201)
    const copy = installed.body()
    assert.equal(installed.header('location'), `/api/v1/agents/${copy.id}`)
    assert.equal(copy.slug, 'returns-helper')
    assert.equal(copy.instructions, 'You help with returns. Secret house rule: never mention Lyon.')
    assert.deepEqual(copy.listing, { id: listing.id, installed_version: 1 })
    // A second install gets the next free slug.
    const second = await client
      .post(`/api/v1/marketplace/${listing.id}/installs`)
      .bearerToken(buyer.token)
      .json({})
    assert.equal(second.body().slug, 'returns-helper-2')

    const run = await client
      .post(`/api/v1/agents/${copy.slug}/runs`)
      .bearerToken(buyer.token)
      .json({ input: 'hello' })
    run.assertStatus(201)
    assert.equal(run.body().status, 'succeeded')
    const charged = await db
      .from('ledger_entries')
      .where('kind', 'charge')
      .where('tenant_id', buyer.tenant.id)
    assert.lengthOf(charged, 1)
    assert.lengthOf(
      await db.from('ledger_entries').where('kind', 'charge').where('tenant_id', shop.tenant.id),
      0
    )

    let detail = (
      await client.get(`/api/v1/marketplace/${listing.id}`).bearerToken(buyer.token)
    ).body()
    assert.deepInclude(detail.installed, {
      agent_id: copy.id,
      slug: 'returns-helper',
      installed_version: 1,
      update_available: false,
    })
    ;(
      await client.post(`/api/v1/agents/${copy.slug}/updates`).bearerToken(buyer.token).json({})
    ).assertStatus(409)

    ;(
      await client
        .patch('/api/v1/agents/returns')
        .bearerToken(shop.token)
        .json({ instructions: 'Version two of the rules.' })
    ).assertStatus(200)
    ;(await publish(client, shop.token)).assertStatus(201)
    detail = (await client.get(`/api/v1/marketplace/${listing.id}`).bearerToken(buyer.token)).body()
    assert.isTrue(detail.installed.find((c: any) => c.agent_id === copy.id).update_available)
    const updated = await client
      .post(`/api/v1/agents/${copy.slug}/updates`)
      .bearerToken(buyer.token)
      .json({})
    updated.assertStatus(200)
    assert.equal(updated.body().instructions, 'Version two of the rules.')
    assert.equal(updated.body().version, 2)
    assert.deepEqual(updated.body().listing, { id: listing.id, installed_version: 2 })
    // An agent that was not installed has no update.
    ;(
      await client.post('/api/v1/agents/returns/updates').bearerToken(shop.token).json({})
    ).assertStatus(404)
  })

  test('reviews: refused before a succeeded run of an installed copy, accepted after one, one per workspace', async ({
    client,
    assert,
  }) => {
    const shop = await publisher(client)
    const listing = (await publish(client, shop.token)).body()
    const buyer = await WorkspaceFactory.create({ token: true, grant: 1_000_000_000n })
    const review = (token: string, body: object) =>
      client.post(`/api/v1/marketplace/${listing.id}/reviews`).bearerToken(token).json(body)

    const early = await review(buyer.token, { rating: 5, body: 'Great!' })
    early.assertStatus(403)
    assert.include(early.body().detail, 'ran an installed copy')
    const copy = (
      await client
        .post(`/api/v1/marketplace/${listing.id}/installs`)
        .bearerToken(buyer.token)
        .json({})
    ).body()
    ;(await review(buyer.token, { rating: 5, body: 'Great!' })).assertStatus(403)
    ;(
      await client
        .post(`/api/v1/agents/${copy.slug}/runs`)
        .bearerToken(buyer.token)
        .json({ input: 'hi' })
    ).assertStatus(201)
    for (const [body, field] of [
      [{ rating: 0, body: 'x' }, 'rating'],
      [{ rating: 4.5, body: 'x' }, 'rating'],
      [{ rating: 4, body: 'x'.repeat(2001) }, 'body'],
    ] as const) {
      const refused = await review(buyer.token, body)
      refused.assertStatus(422)
      assert.equal(refused.body().errors[0].field, field)
    }
    ;(await review(buyer.token, { rating: 2, body: 'Meh.' })).assertStatus(201)
    ;(await review(buyer.token, { rating: 4, body: 'Better after the update.' })).assertStatus(201)
    assert.lengthOf(await db.from('listing_reviews').where('listing_id', listing.id), 1)
    const detail = (
      await client.get(`/api/v1/marketplace/${listing.id}`).bearerToken(buyer.token)
    ).body()
    assert.deepEqual(detail.rating, { average: 4, count: 1 })
    assert.deepEqual(
      detail.reviews.map((r: any) => [r.rating, r.body]),
      [[4, 'Better after the update.']]
    )
    assert.notInclude(JSON.stringify(detail.reviews), buyer.tenant.id)
    // The publisher cannot rate itself, even with a run.
    ;(await review(shop.token, { rating: 5, body: 'Mine is best.' })).assertStatus(403)
  })
})
