import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { documentsIdle } from '#agents/actions/manage_documents'

const GUIDE = [
  '# Returns policy',
  '',
  'Customers may return unworn shoes within 30 days of delivery for a full refund.',
  '',
  '# Shipping',
  '',
  'Orders ship from our Lyon warehouse within two working days; express delivery costs 9 euros.',
].join('\n')

async function ready(client: any, token: string, id: string) {
  await documentsIdle()
  const response = await client.get(`/api/v1/knowledge/documents/${id}`).bearerToken(token)
  response.assertStatus(200)
  return response.body()
}

test.group('agents / knowledge: documents and search over the API', () => {
  test('a JSON document is processed to ready, found by search, and deleting it leaves no chunk behind', async ({
    client,
    assert,
  }) => {
    const { tenant, token } = await WorkspaceFactory.create({ token: true })
    const created = await client
      .post('/api/v1/knowledge/documents')
      .bearerToken(token)
      .json({ name: 'guide.md', text: GUIDE })
    created.assertStatus(201)
    assert.equal(created.body().status, 'processing')
    assert.equal(created.body().kind, 'markdown')
    const document = await ready(client, token, created.body().id)
    assert.equal(document.status, 'ready')
    assert.equal(document.progress, 100)
    assert.isAbove(document.chunks, 0)

    const search = await client
      .get('/api/v1/knowledge/search')
      .qs({ q: 'how long do I have to return shoes' })
      .bearerToken(token)
    search.assertStatus(200)
    assert.isAbove(search.body().data.length, 0)
    assert.equal(search.body().data[0].document_id, document.id)
    assert.match(search.body().data[0].text, /30 days/)

    const list = await client.get('/api/v1/knowledge/documents').bearerToken(token)
    assert.deepEqual(
      list.body().data.map((d: any) => d.id),
      [document.id]
    )
    ;(
      await client.delete(`/api/v1/knowledge/documents/${document.id}`).bearerToken(token)
    ).assertStatus(204)
    const left = await db.from('knowledge_chunks').where('tenant_id', tenant.id).count('* as n')
    assert.equal(Number(left[0].n), 0)
    ;(
      await client.get(`/api/v1/knowledge/documents/${document.id}`).bearerToken(token)
    ).assertStatus(404)
  })

  test('multipart uploads: a text file is accepted; a PNG, an empty file and a file over the limit are refused on `file`; other routes still refuse multipart', async ({
    client,
    assert,
  }) => {
    const { token } = await WorkspaceFactory.create({ token: true })
    const ok = await client
      .post('/api/v1/knowledge/documents')
      .bearerToken(token)
      .file('file', Buffer.from('id,city\n1,Lyon\n2,Paris\n'), { filename: 'cities.csv' })
    ok.assertStatus(201)
    assert.equal(ok.body().kind, 'csv')
    assert.equal((await ready(client, token, ok.body().id)).status, 'ready')

    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex')
    for (const [bytes, filename, status] of [
      [png, 'picture.txt', 422],
      [Buffer.alloc(0), 'empty.txt', 422],
      [Buffer.alloc(11 * 1024 * 1024, 0x61), 'huge.txt', 413],
    ] as const) {
      const refused = await client
        .post('/api/v1/knowledge/documents')
        .bearerToken(token)
        .file('file', bytes, { filename })
      refused.assertStatus(status)
      if (status === 422) assert.equal(refused.body().errors[0].field, 'file')
    }
    const elsewhere = await client
      .post('/api/v1/agents')
      .bearerToken(token)
      .file('file', Buffer.from('x'), { filename: 'x.txt' })
    elsewhere.assertStatus(415)
  })

  test('an agent with knowledge answers through knowledge_search and cites the passages; another workspace never sees them', async ({
    client,
    assert,
  }) => {
    const { token } = await WorkspaceFactory.create({ grant: 1_000_000n, token: true })
    const created = await client
      .post('/api/v1/knowledge/documents')
      .bearerToken(token)
      .json({ name: 'guide.md', text: GUIDE })
    const document = await ready(client, token, created.body().id)
    const agent = await client
      .post('/api/v1/agents')
      .bearerToken(token)
      .json({
        name: 'Support',
        instructions: 'Answer from the documents.',
        model: 'simulator/echo',
        knowledge: { documents: [document.id] },
      })
    agent.assertStatus(201)
    assert.deepEqual(agent.body().knowledge, { documents: [document.id] })
    const run = (
      await client
        .post('/api/v1/agents/support/runs')
        .bearerToken(token)
        .json({ input: '/tool knowledge_search {"query": "express delivery price"}' })
    ).body()
    assert.equal(run.status, 'succeeded')
    assert.equal(run.steps[1].name, 'knowledge_search')
    assert.match(run.output, /9 euros/)
    assert.deepInclude(run.citations, {
      document_id: document.id,
      chunk_id: JSON.parse(run.steps[1].output).results[0].chunk_id,
      document_name: 'guide.md',
    })
    // The retrieved text was part of the second model call's input.
    assert.isAbove(run.steps[2].input_tokens, run.steps[0].input_tokens + 10)

    const other = await WorkspaceFactory.create({ token: true })
    const search = await client
      .get('/api/v1/knowledge/search')
      .qs({ q: 'express delivery' })
      .bearerToken(other.token)
    assert.deepEqual(search.body().data, [])
    ;(
      await client.get(`/api/v1/knowledge/documents/${document.id}`).bearerToken(other.token)
    ).assertStatus(404)
    const foreign = await client
      .post('/api/v1/agents')
      .bearerToken(other.token)
      .json({
        name: 'Thief',
        instructions: 'x',
        model: 'simulator/echo',
        knowledge: { documents: [document.id] },
      })
    foreign.assertStatus(422)
    assert.equal(foreign.body().errors[0].field, 'knowledge.documents.0')
  })
})

test.group('agents / knowledge: the full-text function behind RLS', () => {
  test('knowledge_fulltext answers a transaction bound to a tenant for that tenant only', async ({
    client,
    assert,
  }) => {
    const { withTenant } = await import('#tenants')
    const owner = await WorkspaceFactory.create({ token: true })
    const other = await WorkspaceFactory.create({ token: true })
    const created = await client
      .post('/api/v1/knowledge/documents')
      .bearerToken(owner.token)
      .json({ name: 'guide.md', text: GUIDE })
    await ready(client, owner.token, created.body().id)
    const search = (bound: string) =>
      withTenant(bound, async (trx) => {
        const { rows } = await trx.rawQuery(
          `SELECT * FROM knowledge_fulltext(?, plainto_tsquery('english', 'warehouse'), NULL, 5)`,
          [owner.tenant.id]
        )
        return rows.length
      })
    assert.equal(await search(owner.tenant.id), 1)
    assert.equal(await search(other.tenant.id), 0)
  })
})

test.group('agents / knowledge: recovery', () => {
  test('a document whose processing stopped half-way is queued again, its stray chunks replaced', async ({
    client,
    assert,
  }) => {
    const { recoverStaleDocuments } = await import('#agents/actions/manage_documents')
    const { tenant, token } = await WorkspaceFactory.create({ token: true })
    const created = await client
      .post('/api/v1/knowledge/documents')
      .bearerToken(token)
      .json({ name: 'guide.md', text: GUIDE })
    const document = await ready(client, token, created.body().id)
    // As a process that died after its first batch leaves it.
    await db
      .from('knowledge_documents')
      .where('id', document.id)
      .update({
        status: 'processing',
        progress: 40,
        chunks: 0,
        updated_at: new Date(Date.now() - 3600_000),
      })
    await db.table('knowledge_chunks').insert({
      tenant_id: tenant.id,
      document_id: document.id,
      position: 99,
      text: 'a stray chunk from the dead process',
    })
    assert.equal(await recoverStaleDocuments(), 1)
    const again = await ready(client, token, document.id)
    assert.equal(again.status, 'ready')
    assert.equal(again.chunks, document.chunks)
    const positions = await db
      .from('knowledge_chunks')
      .where('document_id', document.id)
      .orderBy('position')
      .select('position')
    assert.deepEqual(
      positions.map((row) => row.position),
      Array.from({ length: document.chunks }, (_, i) => i)
    )
    // A document still moving is left alone.
    assert.equal(await recoverStaleDocuments(), 0)

    // Re-indexing a document another indexer is still working on is refused.
    await db.from('knowledge_documents').where('id', document.id).update({ status: 'processing' })
    const busy = await client
      .post(`/api/v1/knowledge/documents/${document.id}/reindexing`)
      .bearerToken(token)
    busy.assertStatus(409)
  })
})
