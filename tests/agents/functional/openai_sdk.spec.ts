import { test } from '@japa/runner'
import OpenAI from 'openai'
import { runsIdle } from '#agents/services/run_executor'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

function sdk(token: string) {
  return new OpenAI({
    apiKey: token,
    baseURL: `http://${process.env.HOST}:${process.env.PORT}/api/v1`,
    maxRetries: 0,
  })
}

test.group('agents / OpenAI-compatible endpoint through the official SDK', () => {
  test('chat.completions.create runs an agent (not streaming) with usage', async ({
    client,
    assert,
  }) => {
    const { token } = await WorkspaceFactory.create({ grant: 1_000_000_000n, token: true })
    await client
      .post('/api/v1/agents')
      .bearerToken(token)
      .json({ name: 'Echo', slug: 'echo', instructions: 'Repeat.', model: 'simulator/echo' })
    const completion = await sdk(token).chat.completions.create({
      model: 'agent:echo',
      messages: [{ role: 'user', content: 'Ping from the SDK' }],
    })
    assert.equal(completion.object, 'chat.completion')
    assert.equal(completion.choices[0].message.content, 'Ping from the SDK')
    assert.equal(completion.usage?.completion_tokens, Math.ceil('Ping from the SDK'.length / 4))
    assert.equal(
      completion.usage?.total_tokens,
      completion.usage!.prompt_tokens + completion.usage!.completion_tokens
    )
  })

  test('streaming yields the text in chunks and usage in the last chunk', async ({
    client,
    assert,
  }) => {
    const { token } = await WorkspaceFactory.create({ grant: 1_000_000_000n, token: true })
    await client.post('/api/v1/agents').bearerToken(token).json({
      name: 'Lorem',
      slug: 'lorem',
      instructions: 'Talk.',
      model: 'simulator/lorem',
      max_tokens: 30,
    })
    const stream = await sdk(token).chat.completions.create({
      model: 'agent:lorem',
      stream: true,
      messages: [{ role: 'user', content: 'go' }],
    })
    let text = ''
    let usage
    let chunks = 0
    for await (const chunk of stream) {
      chunks++
      text += chunk.choices[0]?.delta?.content ?? ''
      if (chunk.usage) usage = chunk.usage
    }
    assert.equal(text.length, 120)
    assert.isAbove(chunks, 5)
    assert.equal(usage?.completion_tokens, 30)
    // The answer ends before the run's bookkeeping: let it finish inside this test.
    await runsIdle()
  })

  test('a catalog model can be called directly, and models.list shows models and agents', async ({
    client,
    assert,
  }) => {
    const { token } = await WorkspaceFactory.create({ grant: 1_000_000_000n, token: true })
    await client
      .post('/api/v1/agents')
      .bearerToken(token)
      .json({ name: 'Echo', slug: 'echo', instructions: 'Repeat.', model: 'simulator/echo' })
    const direct = await sdk(token).chat.completions.create({
      model: 'simulator/echo',
      messages: [
        { role: 'system', content: 'x' },
        { role: 'user', content: 'direct' },
      ],
    })
    assert.equal(direct.choices[0].message.content, 'direct')
    const ids = []
    for await (const model of sdk(token).models.list()) ids.push(model.id)
    assert.includeMembers(ids, ['simulator/echo', 'simulator/lorem', 'agent:echo'])
  })

  test('errors use OpenAI shapes: unknown model 404, no credits 402, bad token 401 — not retryable', async ({
    assert,
  }) => {
    const { token } = await WorkspaceFactory.create({ token: true })
    const missing = await sdk(token)
      .chat.completions.create({ model: 'agent:nope', messages: [{ role: 'user', content: 'x' }] })
      .catch((e) => e)
    assert.instanceOf(missing, OpenAI.NotFoundError)
    assert.equal(missing.headers.get('x-should-retry'), 'false')
    const broke = await sdk(token)
      .chat.completions.create({
        model: 'simulator/echo',
        messages: [{ role: 'user', content: 'x' }],
      })
      .catch((e) => e)
    assert.equal(broke.status, 402)
    assert.isString(broke.error?.message ?? broke.message)
    const unauthorised = await sdk('agora_bad.token')
      .chat.completions.create({
        model: 'simulator/echo',
        messages: [{ role: 'user', content: 'x' }],
      })
      .catch((e) => e)
    assert.equal(unauthorised.status, 401)
    const invalid = await sdk(token)
      .chat.completions.create({ model: 'simulator/echo', messages: [] })
      .catch((e) => e)
    assert.equal(invalid.status, 422)
    assert.equal(invalid.error?.param, 'messages')
  })
})
