import { test } from '@japa/runner'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

const agentBody = {
  name: 'Echo bot',
  slug: 'echo',
  instructions: 'Repeat the user.',
  model: 'simulator/echo',
}

test.group('agents / API: agents and versions', () => {
  test('creates an agent (201 + Location), reads it by id and by slug', async ({
    client,
    assert,
  }) => {
    const { token } = await WorkspaceFactory.create({ token: true })
    const created = await client.post('/api/v1/agents').bearerToken(token).json(agentBody)
    created.assertStatus(201)
    assert.equal(created.header('location'), `/api/v1/agents/${created.body().id}`)
    assert.deepInclude(created.body(), {
      slug: 'echo',
      model: 'simulator/echo',
      version: 1,
      max_tokens: 1024,
      fallback_models: [],
    })
    const byId = await client.get(`/api/v1/agents/${created.body().id}`).bearerToken(token)
    const bySlug = await client.get('/api/v1/agents/echo').bearerToken(token)
    assert.deepEqual(byId.body(), bySlug.body())
  })

  test('a taken slug, an unknown model and missing fields → 422 naming the field', async ({
    client,
    assert,
  }) => {
    const { token } = await WorkspaceFactory.create({ token: true })
    await client.post('/api/v1/agents').bearerToken(token).json(agentBody)
    const taken = await client.post('/api/v1/agents').bearerToken(token).json(agentBody)
    taken.assertStatus(422)
    assert.equal(taken.body().errors[0].field, 'slug')
    const unknown = await client
      .post('/api/v1/agents')
      .bearerToken(token)
      .json({ ...agentBody, slug: 'x', model: 'gpt-nope' })
    unknown.assertStatus(422)
    assert.equal(unknown.body().errors[0].field, 'model')
    const empty = await client.post('/api/v1/agents').bearerToken(token).json({})
    empty.assertStatus(422)
    assert.includeMembers(
      empty.body().errors.map((e: any) => e.field),
      ['name', 'instructions', 'model']
    )
    const badSlug = await client
      .post('/api/v1/agents')
      .bearerToken(token)
      .json({ ...agentBody, slug: 'Not A Slug!' })
    badSlug.assertStatus(422)
  })

  test('every update is a new immutable version; history lists them newest first', async ({
    client,
    assert,
  }) => {
    const { token } = await WorkspaceFactory.create({ token: true })
    await client.post('/api/v1/agents').bearerToken(token).json(agentBody)
    const updated = await client
      .patch('/api/v1/agents/echo')
      .bearerToken(token)
      .json({ instructions: 'Be brief.', max_tokens: 64 })
    updated.assertStatus(200)
    assert.deepInclude(updated.body(), {
      version: 2,
      instructions: 'Be brief.',
      max_tokens: 64,
      model: 'simulator/echo',
    })
    const versions = await client.get('/api/v1/agents/echo/versions').bearerToken(token)
    assert.deepEqual(
      versions.body().data.map((v: any) => [v.version, v.instructions]),
      [
        [2, 'Be brief.'],
        [1, 'Repeat the user.'],
      ]
    )
  })

  test('lists with cursor pagination; limit above 100 or a bad cursor → 422', async ({
    client,
    assert,
  }) => {
    const { token } = await WorkspaceFactory.create({ token: true })
    for (const slug of ['a1', 'a2', 'a3'])
      await client
        .post('/api/v1/agents')
        .bearerToken(token)
        .json({ ...agentBody, slug })
    const first = await client.get('/api/v1/agents?limit=2').bearerToken(token)
    assert.lengthOf(first.body().data, 2)
    assert.isString(first.body().next_cursor)
    const second = await client
      .get(`/api/v1/agents?limit=2&cursor=${first.body().next_cursor}`)
      .bearerToken(token)
    assert.lengthOf(second.body().data, 1)
    assert.isNull(second.body().next_cursor)
    const slugs = [...first.body().data, ...second.body().data].map((a: any) => a.slug).sort()
    assert.deepEqual(slugs, ['a1', 'a2', 'a3'])
    ;(await client.get('/api/v1/agents?limit=101').bearerToken(token)).assertStatus(422)
    ;(await client.get('/api/v1/agents?cursor=zzz').bearerToken(token)).assertStatus(422)
  })

  test('delete → 204, then 404; the slug can be reused', async ({ client }) => {
    const { token } = await WorkspaceFactory.create({ token: true })
    await client.post('/api/v1/agents').bearerToken(token).json(agentBody)
    ;(await client.delete('/api/v1/agents/echo').bearerToken(token)).assertStatus(204)
    ;(await client.get('/api/v1/agents/echo').bearerToken(token)).assertStatus(404)
    ;(await client.post('/api/v1/agents').bearerToken(token).json(agentBody)).assertStatus(201)
  })

  test("another tenant's agent is a 404 for every verb", async ({ client }) => {
    const a = await WorkspaceFactory.create({ token: true })
    const b = await WorkspaceFactory.create({ token: true })
    const theirs = await client.post('/api/v1/agents').bearerToken(b.token).json(agentBody)
    for (const path of [`/api/v1/agents/${theirs.body().id}`, '/api/v1/agents/echo']) {
      ;(await client.get(path).bearerToken(a.token)).assertStatus(404)
      ;(await client.patch(path).bearerToken(a.token).json({ name: 'x' })).assertStatus(404)
      ;(await client.delete(path).bearerToken(a.token)).assertStatus(404)
      ;(await client.post(`${path}/runs`).bearerToken(a.token).json({ input: 'hi' })).assertStatus(
        404
      )
    }
    ;(await client.get('/api/v1/agents/echo').bearerToken(b.token)).assertStatus(200)
  })
})
