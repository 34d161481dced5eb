import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { verifyLedger } from '#credits'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { addModel } from '#agents/actions/manage_providers'
import { documentsIdle } from '#agents/actions/manage_documents'
import { vectorSearchAvailable } from '#agents/knowledge/embeddings'
import { simulatorEmbedding } from '#agents/providers/embeddings'
import { allowPrivateNetworks, fakeProvider } from '#tests/helpers/agents'
import { FakeLlm, type Scenario } from '#tests/helpers/fake_llm'

/*
 * A workspace chooses the model that embeds its knowledge: the simulator by default, a model of
 * one of its providers (an OpenAI-compatible /embeddings, faked here at the HTTP level), or none.
 * Embedding with a priced model is paid like a run: a hold over the worst case, then the charge
 * of what the provider reported.
 */

const GUIDE = [
  '# Returns policy',
  '',
  'Customers may return unworn shoes within 30 days of delivery for a full refund.',
  '',
  '# Shipping',
  '',
  'Orders ship from our Lyon warehouse within two working days; express delivery costs 9 euros.',
].join('\n')

/** 20 credits per 1M input tokens. */
const PRICE = 20_000_000n
/** What the fake reports per input: its length / 5, rounded up. */
const tokensOf = (texts: string[]) => texts.reduce((sum, t) => sum + Math.ceil(t.length / 5), 0)
const costOf = (tokens: number) => (BigInt(tokens) * PRICE + 999_999n) / 1_000_000n

/** An OpenAI-compatible /embeddings: the simulator's vectors (so ranking is meaningful). */
const embeddings: Scenario = (request, response) => {
  const input = request.body.input as string[]
  response.writeHead(200, { 'content-type': 'application/json' })
  response.end(
    JSON.stringify({
      object: 'list',
      data: input.map((text, index) => ({ index, embedding: simulatorEmbedding(text) })),
      usage: { prompt_tokens: tokensOf(input), total_tokens: tokensOf(input) },
    })
  )
}

async function workspaceWithEmbeddingModel(fake: FakeLlm, grant?: bigint) {
  const workspace = await WorkspaceFactory.create({ token: true, grant })
  const { provider } = await fakeProvider(workspace.tenant.id, fake, { models: [] })
  const model = await addModel(provider, {
    actorId: null,
    name: `${provider.slug}/embed-small`,
    upstreamModel: 'text-embedding-3-small',
    contextWindow: 8192,
    kind: 'embedding',
    inputPriceMicros: PRICE,
    outputPriceMicros: 0n,
  })
  return { ...workspace, model: model.name }
}

async function addGuide(client: any, token: string) {
  const created = await client
    .post('/api/v1/knowledge/documents')
    .bearerToken(token)
    .json({ name: 'guide.md', text: GUIDE })
  created.assertStatus(201)
  await documentsIdle()
  const shown = await client
    .get(`/api/v1/knowledge/documents/${created.body().id}`)
    .bearerToken(token)
  shown.assertStatus(200)
  return shown.body()
}

const holdsOf = (tenantId: string, reference: string) =>
  db.from('credit_holds').where('tenant_id', tenantId).where('reference', reference)

test.group('agents / knowledge: embedding models', (group) => {
  let fake: FakeLlm
  group.each.setup(async () => {
    fake = await FakeLlm.start('openai', embeddings)
    return () => fake.close()
  })
  allowPrivateNetworks(group)

  test("a provider's embedding model embeds documents and searches, charged what the provider reports", async ({
    client,
    assert,
  }) => {
    const vectors = await vectorSearchAvailable()
    const { tenant, token, model } = await workspaceWithEmbeddingModel(fake, 1_000_000_000n)
    const before = await client.get('/api/v1/knowledge/settings').bearerToken(token)
    before.assertStatus(200)
    assert.equal(before.body().embedding_model, 'simulator/embed')
    assert.equal(before.body().vector_search, vectors)
    assert.includeMembers(
      before.body().embedding_models.map((m: any) => m.name),
      ['simulator/embed', model]
    )
    // An embedding model is no chat model: agents cannot run on it.
    assert.notInclude(
      (await client.get('/api/v1/models').bearerToken(token)).body().data.map((m: any) => m.id),
      model
    )

    const saved = await client
      .put('/api/v1/knowledge/settings')
      .bearerToken(token)
      .json({ embedding_model: model })
    saved.assertStatus(200)
    assert.equal(saved.body().embedding_model, model)
    assert.equal(saved.body().reindexing, 0)

    const document = await addGuide(client, token)
    assert.equal(document.status, 'ready')
    const search = await client
      .get('/api/v1/knowledge/search')
      .qs({ q: 'how long do I have to return shoes' })
      .bearerToken(token)
    search.assertStatus(200)
    assert.match(search.body().data[0].text, /30 days/)

    if (!vectors) {
      // Without pgvector no model is called and nothing is charged: words only.
      assert.isNull(document.embedding_model)
      assert.equal(search.body().mode, 'fulltext')
      assert.lengthOf(fake.requests, 0)
      assert.lengthOf(await holdsOf(tenant.id, `knowledge_document:${document.id}`), 0)
      return
    }
    assert.equal(document.embedding_model, model)
    assert.equal(search.body().mode, 'hybrid')
    const [indexing, query] = fake.requests
    assert.lengthOf(fake.requests, 2)
    assert.equal(indexing.path, '/v1/embeddings')
    assert.equal(indexing.body.model, 'text-embedding-3-small')
    assert.equal(indexing.body.dimensions, 256)
    assert.deepEqual(query.body.input, ['how long do I have to return shoes'])

    const [documentHold] = await holdsOf(tenant.id, `knowledge_document:${document.id}`)
    assert.equal(documentHold.status, 'settled')
    assert.equal(BigInt(documentHold.charged), costOf(tokensOf(indexing.body.input)))
    assert.isAbove(Number(documentHold.charged), 0)
    const [searchHold] = await holdsOf(tenant.id, 'knowledge_search')
    assert.equal(searchHold.status, 'settled')
    assert.equal(BigInt(searchHold.charged), costOf(tokensOf(query.body.input)))
    assert.deepEqual(await verifyLedger(tenant.id), [])
  })

  test('without the credits a priced model needs, a document is indexed by its words and says why', async ({
    client,
    assert,
  }) => {
    const { tenant, token, model } = await workspaceWithEmbeddingModel(fake)
    ;(
      await client
        .put('/api/v1/knowledge/settings')
        .bearerToken(token)
        .json({ embedding_model: model })
    ).assertStatus(200)
    const document = await addGuide(client, token)
    assert.equal(document.status, 'ready')
    assert.isAbove(document.chunks, 0)
    assert.isNull(document.embedding_model)
    const search = await client
      .get('/api/v1/knowledge/search')
      .qs({ q: 'express delivery' })
      .bearerToken(token)
    search.assertStatus(200)
    assert.equal(search.body().mode, 'fulltext')
    assert.match(search.body().data[0].text, /express delivery/)
    assert.lengthOf(fake.requests, 0)
    if (await vectorSearchAvailable()) {
      assert.match(document.error, /^Searchable by its words only: Not enough credits/)
      assert.match(document.error, /needs 0\.\d+ credits, 0 available/)
    }
    const charged = await db
      .from('ledger_entries')
      .where('tenant_id', tenant.id)
      .where('kind', 'charge')
    assert.lengthOf(charged, 0)
  })

  test('changing the model re-embeds ready documents in place; switching embeddings off clears the vectors', async ({
    client,
    assert,
  }) => {
    const vectors = await vectorSearchAvailable()
    const { tenant, token, model } = await workspaceWithEmbeddingModel(fake, 1_000_000_000n)
    const document = await addGuide(client, token)
    assert.equal(document.embedding_model, vectors ? 'simulator/embed' : null)
    const chunkIds = async () =>
      (await db.from('knowledge_chunks').where('document_id', document.id).orderBy('position')).map(
        (row) => row.id
      )
    const ids = await chunkIds()

    const switched = await client
      .put('/api/v1/knowledge/settings')
      .bearerToken(token)
      .json({ embedding_model: model })
    switched.assertStatus(200)
    assert.equal(switched.body().reindexing, vectors ? 1 : 0)
    await documentsIdle()
    let shown = (
      await client.get(`/api/v1/knowledge/documents/${document.id}`).bearerToken(token)
    ).body()
    assert.equal(shown.status, 'ready')
    assert.equal(shown.progress, 100)
    assert.equal(shown.embedding_model, vectors ? model : null)
    // In place: the same passages, only their vectors replaced.
    assert.deepEqual(await chunkIds(), ids)
    if (vectors) {
      assert.lengthOf(fake.requests, 1)
      const [hold] = await holdsOf(tenant.id, `knowledge_document:${document.id}`)
      assert.equal(BigInt(hold.charged), costOf(tokensOf(fake.requests[0].body.input)))
    }

    const off = await client
      .put('/api/v1/knowledge/settings')
      .bearerToken(token)
      .json({ embedding_model: null })
    off.assertStatus(200)
    assert.isNull(off.body().embedding_model)
    await documentsIdle()
    shown = (
      await client.get(`/api/v1/knowledge/documents/${document.id}`).bearerToken(token)
    ).body()
    assert.isNull(shown.embedding_model)
    assert.deepEqual(await chunkIds(), ids)
    if (vectors) {
      const { rows } = await db.rawQuery(
        `SELECT count(*)::int AS n FROM knowledge_chunks WHERE document_id = ? AND embedding IS NOT NULL`,
        [document.id]
      )
      assert.equal(rows[0].n, 0)
    }
    const search = await client
      .get('/api/v1/knowledge/search')
      .qs({ q: 'Lyon warehouse' })
      .bearerToken(token)
    assert.equal(search.body().mode, 'fulltext')
    assert.match(search.body().data[0].text, /Lyon/)
    // Saving the same choice again queues nothing.
    const again = await client
      .put('/api/v1/knowledge/settings')
      .bearerToken(token)
      .json({ embedding_model: null })
    assert.equal(again.body().reindexing, 0)
  })

  test("a run's knowledge_search pays for embedding its query: the step's cost is in the run's one charge", async ({
    client,
    assert,
  }) => {
    const vectors = await vectorSearchAvailable()
    const { tenant, token, model } = await workspaceWithEmbeddingModel(fake, 1_000_000_000n)
    await addGuide(client, token)
    ;(
      await client
        .put('/api/v1/knowledge/settings')
        .bearerToken(token)
        .json({ embedding_model: model })
    ).assertStatus(200)
    await documentsIdle()
    ;(
      await client
        .post('/api/v1/agents')
        .bearerToken(token)
        .json({
          name: 'Support',
          instructions: 'Answer from the documents.',
          model: 'simulator/echo',
          knowledge: { documents: 'all' },
        })
    ).assertStatus(201)
    const requestsBefore = fake.requests.length
    const response = await client
      .post('/api/v1/agents/support/runs')
      .bearerToken(token)
      .json({ input: '/tool knowledge_search {"query": "express delivery price"}' })
    response.assertStatus(201)
    const run = response.body()
    assert.equal(run.status, 'succeeded')
    const step = run.steps.find((s: any) => s.name === 'knowledge_search')
    assert.match(step.output, /9 euros/)
    const sum = run.steps.reduce((total: number, s: any) => total + Number(s.cost_credits), 0)
    assert.closeTo(Number(run.cost_credits), sum, 1e-9)
    if (vectors) {
      const query = fake.requests.slice(requestsBefore)
      assert.lengthOf(query, 1)
      assert.deepEqual(query[0].body.input, ['express delivery price'])
      const micros = costOf(tokensOf(query[0].body.input))
      assert.equal(Math.round(Number(step.cost_credits) * 1_000_000), Number(micros))
    } else {
      assert.equal(Number(step.cost_credits), 0)
    }
    assert.deepEqual(await verifyLedger(tenant.id), [])
  })

  test('the choice is checked: unknown models, chat models and read-only tokens are refused; agents cannot run on an embedding model', async ({
    client,
    assert,
  }) => {
    const { token, tenant, owner } = await WorkspaceFactory.create({ token: true })
    for (const name of ['no/such-model', 'simulator/echo', '']) {
      const refused = await client
        .put('/api/v1/knowledge/settings')
        .bearerToken(token)
        .json({ embedding_model: name })
      refused.assertStatus(422)
      assert.equal(refused.body().errors[0].field, 'embedding_model')
    }
    ;(await client.put('/api/v1/knowledge/settings').bearerToken(token).json({})).assertStatus(422)
    const { ApiTokenFactory } = await import('#database/factories/api_token_factory')
    const reader = await ApiTokenFactory.create(owner, tenant.id, ['agents:read'])
    ;(
      await client
        .put('/api/v1/knowledge/settings')
        .bearerToken(reader)
        .json({ embedding_model: null })
    ).assertStatus(403)
    ;(await client.get('/api/v1/knowledge/settings').bearerToken(reader)).assertStatus(200)
    // The same rule for the other workspace setting: a read-only token changes nothing.
    ;(
      await client
        .put('/api/v1/tool-settings')
        .bearerToken(reader)
        .json({ http_allowed_hosts: ['evil.example.com'] })
    ).assertStatus(403)

    const agent = await client
      .post('/api/v1/agents')
      .bearerToken(token)
      .json({ name: 'Embedder', instructions: 'Embed.', model: 'simulator/embed' })
    agent.assertStatus(422)
    assert.equal(agent.body().errors[0].field, 'model')
  })
})
