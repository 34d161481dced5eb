import { test } from '@japa/runner'
import type { ApiClient } from '@japa/api-client'
import db from '@adonisjs/lucid/services/db'
import OpenAI from 'openai'
import { verifyLedger } from '#credits'
import { InvalidInputException } from '#core'
import { runsIdle } from '#agents/services/run_executor'
import { breaker } from '#agents/services/circuit_breaker'
import { catalog } from '#agents/services/catalog'
import { findModel, findProvider, setModelPrice } from '#agents/actions/manage_providers'
import { allowPrivateNetworks, FAST, fakeProvider, parseSse } from '#tests/helpers/agents'
import { anthropic, FakeLlm, openai } from '#tests/helpers/fake_llm'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

/** A committed workspace with fake servers, removed (with everything it owns) at the end. */
async function committedWorkspace(onEnd: (fn: () => Promise<void>) => void, fakes: FakeLlm[]) {
  const workspace = await WorkspaceFactory.create({ grant: 1_000_000_000n, token: true })
  onEnd(async () => {
    await runsIdle()
    for (const fake of fakes) await fake.close()
    await db.from('tenants').where('id', workspace.tenant.id).delete()
    await db.from('users').where('id', workspace.owner.id).delete()
  })
  return workspace
}

async function run(client: ApiClient, token: string, slug: string, input = 'hi') {
  const started = Date.now()
  const response = await client
    .post(`/api/v1/agents/${slug}/runs`)
    .bearerToken(token)
    .json({ input })
  response.assertStatus(201)
  return { ...response.body(), elapsed: Date.now() - started }
}

test.group('agents / providers: circuit breaker', (group) => {
  allowPrivateNetworks(group)

  test('opens after N consecutive failures, skips the provider while open, then half-opens for one probe that closes it', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = await FakeLlm.start('openai', openai.status(500))
    const { tenant, token } = await committedWorkspace(cleanup, [fake])
    const { provider, model } = await fakeProvider(tenant.id, fake, {
      settings: { ...FAST, max_retries: 0, breaker: { failure_threshold: 2, cooldown_ms: 500 } },
    })
    await client
      .post('/api/v1/agents')
      .bearerToken(token)
      .json({ name: 'B', slug: 'b', instructions: 'x', model })

    const first = await run(client, token, 'b')
    assert.equal(first.status, 'failed')
    assert.equal(first.error_type, 'provider_error')
    assert.equal(await breaker.state(provider.id), 'closed')
    assert.equal((await run(client, token, 'b')).status, 'failed')
    assert.equal(await breaker.state(provider.id), 'open')
    assert.lengthOf(fake.requests, 2)

    const skipped = await run(client, token, 'b')
    assert.equal(skipped.status, 'failed')
    assert.equal(skipped.error.status, 503)
    assert.equal(skipped.error_type, 'provider_unavailable')
    assert.deepEqual(
      skipped.steps.map((s: any) => s.status),
      ['skipped']
    )
    assert.equal(skipped.steps[0].error.breaker, 'open')
    assert.lengthOf(fake.requests, 2) // not called while open

    await new Promise((r) => setTimeout(r, 550))
    fake.use(openai.stream(['healthy again']))
    const probe = await run(client, token, 'b')
    assert.equal(probe.status, 'succeeded')
    assert.lengthOf(fake.requests, 3)
    assert.equal(await breaker.state(provider.id), 'closed')
    assert.deepEqual(await verifyLedger(tenant.id), [])
  }).tags(['@committed'])

  test('a failed probe re-opens it; while a probe is in flight, other runs are not let through', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = await FakeLlm.start('openai', openai.status(503))
    const { tenant, token } = await committedWorkspace(cleanup, [fake])
    const { provider, model } = await fakeProvider(tenant.id, fake, {
      settings: { ...FAST, max_retries: 0, breaker: { failure_threshold: 1, cooldown_ms: 300 } },
    })
    await client
      .post('/api/v1/agents')
      .bearerToken(token)
      .json({ name: 'B', slug: 'b', instructions: 'x', model })

    await run(client, token, 'b')
    assert.equal(await breaker.state(provider.id), 'open')
    await new Promise((r) => setTimeout(r, 350))
    await run(client, token, 'b') // the probe fails
    assert.equal(await breaker.state(provider.id), 'open')
    assert.lengthOf(fake.requests, 2)
    assert.equal((await run(client, token, 'b')).steps[0].status, 'skipped')

    await new Promise((r) => setTimeout(r, 350))
    // A slow but healthy provider: two runs at once, only one probe reaches it.
    const ok = openai.stream(['slow but fine'])
    fake.use((req, res, i) => void setTimeout(() => ok(req, res, i), 300))
    const [one, two] = await Promise.all([run(client, token, 'b'), run(client, token, 'b')])
    assert.sameMembers([one.status, two.status], ['succeeded', 'failed'])
    assert.equal([one, two].find((r) => r.status === 'failed').steps[0].status, 'skipped')
    assert.lengthOf(fake.requests, 3)
    assert.equal(await breaker.state(provider.id), 'closed')
    assert.deepEqual(await verifyLedger(tenant.id), [])
  }).tags(['@committed'])
})

test.group('agents / providers: fallback chain and the single hold', (group) => {
  allowPrivateNetworks(group)

  test('OpenAI-compatible fails → retried → the Anthropic fallback answers; every attempt is a step inside one hold', async ({
    client,
    assert,
    cleanup,
  }) => {
    const primary = await FakeLlm.start('openai', openai.status(502))
    const secondary = await FakeLlm.start('anthropic', anthropic.stream(['from ', 'the fallback']))
    const { tenant, token } = await committedWorkspace(cleanup, [primary, secondary])
    // The primary is dearer: the hold covers the worst price of the chain.
    const first = await fakeProvider(tenant.id, primary, {
      slug: 'primary',
      settings: { ...FAST, max_retries: 1, breaker: { failure_threshold: 2, cooldown_ms: 60_000 } },
      inputPrice: 5_000_000n,
      outputPrice: 10_000_000n,
    })
    const second = await fakeProvider(tenant.id, secondary, { slug: 'secondary', settings: FAST })
    await client
      .post('/api/v1/agents')
      .bearerToken(token)
      .json({
        name: 'F',
        slug: 'f',
        instructions: 'Be brief.',
        model: first.model,
        fallback_models: [second.model],
        max_tokens: 100,
      })

    const result = await run(client, token, 'f', 'Hello')
    assert.equal(result.status, 'succeeded')
    assert.equal(result.output, 'from the fallback')
    assert.equal(result.model, second.model)
    assert.deepEqual(
      result.steps.map((s: any) => [s.kind, s.model, s.status]),
      [
        ['model_call', first.model, 'failed'],
        ['retry', first.model, 'failed'],
        ['fallback', second.model, 'succeeded'],
      ]
    )
    // Anthropic reported 12 input (9 + 3 cached) and 4 output tokens at 1 and 2 credits per 1M.
    assert.equal(result.cost_credits, '0.00002')
    assert.equal(result.steps[2].cost_credits, '0.00002')
    assert.equal(result.price.model, second.model)
    const row = await db.from('runs').where('id', result.id).first()
    // CONTRACT.md: UTF-8 bytes of everything sent / 3.
    const estimatedInput = Math.ceil(Buffer.byteLength('Be brief.' + 'Hello') / 3)
    assert.equal(BigInt(row.hold_micros), BigInt(estimatedInput * 5 + 100 * 10))
    const holds = await db.from('credit_holds').where('tenant_id', tenant.id)
    assert.lengthOf(holds, 1)

    // The primary's breaker is now open: the next run goes straight to the fallback.
    const next = await run(client, token, 'f', 'Again')
    assert.equal(next.status, 'succeeded')
    assert.deepEqual(
      next.steps.map((s: any) => [s.kind, s.status]),
      [
        ['model_call', 'skipped'],
        ['fallback', 'succeeded'],
      ]
    )
    assert.lengthOf(primary.requests, 2)
    assert.deepEqual(await verifyLedger(tenant.id), [])
  }).tags(['@committed'])

  test('over SSE the client sees the fallback text and a terminal event', async ({
    client,
    assert,
    cleanup,
  }) => {
    const primary = await FakeLlm.start('anthropic', anthropic.status(500))
    const secondary = await FakeLlm.start('openai', openai.stream(['plan ', 'B']))
    const { tenant, token } = await committedWorkspace(cleanup, [primary, secondary])
    const first = await fakeProvider(tenant.id, primary, { settings: { ...FAST, max_retries: 0 } })
    const second = await fakeProvider(tenant.id, secondary, { settings: FAST })
    await client
      .post('/api/v1/agents')
      .bearerToken(token)
      .json({
        name: 'F',
        slug: 'f',
        instructions: 'x',
        model: first.model,
        fallback_models: [second.model],
      })
    const response = await client
      .post('/api/v1/agents/f/runs')
      .bearerToken(token)
      .header('accept', 'text/event-stream')
      .json({ input: 'go' })
    const events = parseSse(response.text())
    assert.equal(events.at(-1)!.event, 'done')
    assert.equal(
      events
        .filter((e) => e.event === 'delta')
        .map((e) => JSON.parse(e.data).text)
        .join(''),
      'plan B'
    )
    await runsIdle()
    assert.deepEqual(await verifyLedger(tenant.id), [])
  }).tags(['@committed'])
})

test.group('agents / providers: price book', (group) => {
  allowPrivateNetworks(group)

  test('the price in force at run start is charged and stored; a new price never rewrites history', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = await FakeLlm.start(
      'openai',
      openai.stream(['abc'], {
        usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
      })
    )
    const { tenant, token } = await committedWorkspace(cleanup, [fake])
    const { provider, model } = await fakeProvider(tenant.id, fake, { settings: FAST })
    await client
      .post('/api/v1/agents')
      .bearerToken(token)
      .json({ name: 'P', slug: 'p', instructions: 'x', model })

    const before = await run(client, token, 'p')
    assert.equal(before.cost_credits, '0.00003') // 10 × 1 + 10 × 2
    const row = (await findProvider(tenant.id, provider.id))!
    const modelRow = (await findModel(row, model))!
    await setModelPrice(row, modelRow, {
      actorId: null,
      inputPriceMicros: 3_000_000n,
      outputPriceMicros: 4_000_000n,
    })
    const after = await run(client, token, 'p')
    assert.equal(after.cost_credits, '0.00007') // 10 × 3 + 10 × 4
    assert.deepInclude(after.price, { input_credits_per_1m: '3', output_credits_per_1m: '4' })

    // The first run and its charge keep the old price.
    const first = (await client.get(`/api/v1/runs/${before.id}`).bearerToken(token)).body()
    assert.deepInclude(first.price, { input_credits_per_1m: '1', output_credits_per_1m: '2' })
    const charges = await db
      .from('ledger_entries')
      .where('tenant_id', tenant.id)
      .where('kind', 'charge')
      .orderBy('created_at')
    assert.deepEqual(
      charges.map((c) => [c.price.input_price_micros, c.price.output_price_micros]),
      [
        ['1000000', '2000000'],
        ['3000000', '4000000'],
      ]
    )
    assert.deepEqual(await verifyLedger(tenant.id), [])
  }).tags(['@committed'])

  test('a future price applies only from its date; a price in the past is refused', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create({ grant: 1_000_000_000n })
    const { provider, model } = await fakeProvider(tenant.id, {
      kind: 'openai',
      baseUrl: 'http://127.0.0.1:9/v1',
    })
    const row = (await findProvider(tenant.id, provider.id))!
    const modelRow = (await findModel(row, model))!
    const from = new Date(Date.now() + 3600_000)
    await setModelPrice(row, modelRow, {
      actorId: null,
      inputPriceMicros: 9_000_000n,
      outputPriceMicros: 9_000_000n,
      effectiveFrom: from,
    })
    assert.equal((await catalog(tenant.id)).get(model)!.inputPrice, 1_000_000n)
    const later = (await catalog(tenant.id, new Date(from.getTime() + 1000))).get(model)!
    assert.equal(later.inputPrice, 9_000_000n)
    assert.equal(later.priceEffectiveFrom, from.toISOString())
    const error = await setModelPrice(row, modelRow, {
      actorId: null,
      inputPriceMicros: 1n,
      outputPriceMicros: 1n,
      effectiveFrom: new Date(Date.now() - 3600_000),
    }).catch((e) => e)
    assert.instanceOf(error, InvalidInputException)
    assert.equal(error.field, 'effective_from')
  })

  test('the simulator keeps its default prices of 1 and 2 credits per 1M tokens', async ({
    assert,
  }) => {
    const models = await catalog(null)
    assert.equal(models.get('simulator/echo')!.inputPrice, 1_000_000n)
    assert.equal(models.get('simulator/echo')!.outputPrice, 2_000_000n)
    assert.isString(models.get('simulator/lorem')!.priceEffectiveFrom)
  })
})

test.group('agents / providers: tenant catalogs', (group) => {
  allowPrivateNetworks(group)

  test("a workspace's own models are its alone: another workspace can neither list nor use them", async ({
    client,
    assert,
  }) => {
    const a = await WorkspaceFactory.create({ grant: 1_000_000_000n, token: true })
    const b = await WorkspaceFactory.create({ grant: 1_000_000_000n, token: true })
    const { model } = await fakeProvider(a.tenant.id, {
      kind: 'openai',
      baseUrl: 'http://127.0.0.1:9/v1',
    })
    const listedA = (await client.get('/api/v1/models').bearerToken(a.token))
      .body()
      .data.map((m: any) => m.id)
    const listedB = (await client.get('/api/v1/models').bearerToken(b.token))
      .body()
      .data.map((m: any) => m.id)
    assert.include(listedA, model)
    assert.notInclude(listedB, model)
    assert.include(listedB, 'simulator/echo')
    const refused = await client
      .post('/api/v1/agents')
      .bearerToken(b.token)
      .json({ name: 'X', slug: 'x', instructions: 'x', model })
    refused.assertStatus(422)
    const direct = await client
      .post('/api/v1/chat/completions')
      .bearerToken(b.token)
      .json({ model, messages: [{ role: 'user', content: 'hi' }] })
    direct.assertStatus(404)
  })

  test('the OpenAI-compatible endpoint serves a provider model directly, passing tools and returning tool calls', async ({
    assert,
    cleanup,
  }) => {
    const fake = await FakeLlm.start(
      'openai',
      openai.stream([], { toolCalls: [{ id: 'call_9', name: 'lookup', arguments: '{"q":"x"}' }] })
    )
    const { tenant, token } = await committedWorkspace(cleanup, [fake])
    const { model } = await fakeProvider(tenant.id, fake, { settings: FAST })
    const sdk = new OpenAI({
      apiKey: token,
      baseURL: `http://${process.env.HOST}:${process.env.PORT}/api/v1`,
      maxRetries: 0,
    })
    const tools = [
      {
        type: 'function' as const,
        function: {
          name: 'lookup',
          parameters: { type: 'object', properties: { q: { type: 'string' } } },
        },
      },
    ]
    const completion = await sdk.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'find x' }],
      tools,
    })
    assert.equal(completion.choices[0].finish_reason, 'tool_calls')
    assert.deepEqual(completion.choices[0].message.tool_calls, [
      { id: 'call_9', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } },
    ])
    assert.deepEqual(fake.requests[0].body.tools, tools)

    fake.use(
      openai.stream(['str', 'eamed'], {
        usage: {
          prompt_tokens: 5,
          completion_tokens: 2,
          total_tokens: 7,
          prompt_tokens_details: { cached_tokens: 1 },
        },
      })
    )
    const stream = await sdk.chat.completions.create({
      model,
      stream: true,
      messages: [{ role: 'user', content: 'go' }],
    })
    let text = ''
    let usage: any
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? ''
      if (chunk.usage) usage = chunk.usage
    }
    assert.equal(text, 'streamed')
    assert.deepEqual(usage, {
      prompt_tokens: 5,
      completion_tokens: 2,
      total_tokens: 7,
      prompt_tokens_details: { cached_tokens: 1 },
    })
    await runsIdle()
    assert.deepEqual(await verifyLedger(tenant.id), [])
  }).tags(['@committed'])
})
