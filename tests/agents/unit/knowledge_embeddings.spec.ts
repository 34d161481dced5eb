import { test } from '@japa/runner'
import {
  openAiCompatibleEmbeddings,
  SIMULATOR_DIMENSIONS,
  simulatorEmbedding,
} from '#agents/providers/embeddings'
import { SimulatorProvider } from '#agents/providers/simulator'
import type { ProviderConnection } from '#agents/providers/openai_compatible'
import { ProviderError } from '#agents/providers/types'
import { FakeLlm, type Scenario } from '#tests/helpers/fake_llm'

const dot = (a: number[], b: number[]) => a.reduce((sum, value, i) => sum + value * b[i], 0)

/** Answers /embeddings with a recognisable vector per input (its position, its length). */
const embeddings: Scenario = (request, response) => {
  const input = request.body.input as string[]
  response.writeHead(200, { 'content-type': 'application/json' })
  response.end(
    JSON.stringify({
      object: 'list',
      // Out of order on purpose: `index` says which input each answers.
      data: input
        .map((text, index) => ({ object: 'embedding', index, embedding: [index, text.length] }))
        .reverse(),
      model: request.body.model,
      usage: { prompt_tokens: 1, total_tokens: 1 },
    })
  )
}

function connection(fake: FakeLlm, extra: Partial<ProviderConnection> = {}): ProviderConnection {
  return { baseUrl: fake.baseUrl, apiKey: 'sk-test', settings: {}, ...extra }
}

test.group('agents / knowledge: simulator embeddings', () => {
  test('vectors are deterministic 256-dimension unit vectors; shared words bring texts closer', async ({
    assert,
  }) => {
    const { vectors, inputTokens } = await new SimulatorProvider().embed({
      model: 'embed',
      input: [
        'Descale the espresso machine with citric acid',
        'Descale the espresso machine with citric acid',
        'How do I descale my espresso machine?',
        'Jupiter and its moons through binoculars',
        '  ¿? ',
      ],
      dimensions: 256,
      signal: AbortSignal.timeout(5000),
    })
    const [a, again, near, far, empty] = vectors
    // Usage like the simulator's chat: ceil(characters / 4) per input.
    assert.equal(inputTokens, 12 + 12 + 10 + 10 + 2)
    assert.lengthOf(a, SIMULATOR_DIMENSIONS)
    assert.deepEqual(a, again)
    for (const vector of [a, near, far, empty]) assert.closeTo(Math.hypot(...vector), 1, 1e-9)
    assert.isAbove(dot(a, near), dot(a, far) + 0.2)
    // No words: a fixed unit vector (a zero vector has no cosine distance).
    assert.deepEqual(empty, simulatorEmbedding(''))
    // Case and punctuation do not matter; letters of any script are words.
    assert.deepEqual(simulatorEmbedding('Crème brûlée!'), simulatorEmbedding('crème BRÛLÉE'))
    assert.notDeepEqual(simulatorEmbedding('крем'), simulatorEmbedding(''))
  })
})

test.group('agents / knowledge: OpenAI-compatible embeddings', (group) => {
  let fake: FakeLlm
  let allowed: string | undefined
  group.each.setup(async () => {
    allowed = process.env.PROVIDER_ALLOW_PRIVATE_NETWORKS
    process.env.PROVIDER_ALLOW_PRIVATE_NETWORKS = 'true'
    fake = await FakeLlm.start('openai', embeddings)
    return async () => {
      process.env.PROVIDER_ALLOW_PRIVATE_NETWORKS = allowed
      if (allowed === undefined) delete process.env.PROVIDER_ALLOW_PRIVATE_NETWORKS
      await fake.close()
    }
  })

  test('POSTs {model, input} to <base>/embeddings and returns the vectors in input order', async ({
    assert,
  }) => {
    const { vectors, inputTokens } = await openAiCompatibleEmbeddings(
      connection(fake),
      'text-embedding-3-small',
      ['one', 'three', 'fives'],
      AbortSignal.timeout(5000)
    )
    assert.equal(inputTokens, 1)
    assert.deepEqual(vectors, [
      [0, 3],
      [1, 5],
      [2, 5],
    ])
    assert.lengthOf(fake.requests, 1)
    const [request] = fake.requests
    assert.equal(request.method, 'POST')
    assert.equal(request.path, '/v1/embeddings')
    assert.equal(request.headers.authorization, 'Bearer sk-test')
    assert.deepEqual(request.body, {
      model: 'text-embedding-3-small',
      input: ['one', 'three', 'fives'],
    })
  })

  test('many inputs go in several requests; dimensions and Azure settings are sent', async ({
    assert,
  }) => {
    const texts = Array.from({ length: 300 }, (_, i) => 'x'.repeat(i))
    const { vectors, inputTokens } = await openAiCompatibleEmbeddings(
      connection(fake, { apiKey: 'azure-key', settings: { api_version: '2024-10-21' } }),
      'embed',
      texts,
      AbortSignal.timeout(5000),
      256
    )
    assert.deepEqual(
      vectors.map((vector) => vector[1]),
      texts.map((text) => text.length)
    )
    // Each request reported 1 prompt token: the reports add up.
    assert.equal(inputTokens, 3)
    assert.deepEqual(
      fake.requests.map((request) => request.body.input.length),
      [128, 128, 44]
    )
    for (const request of fake.requests) {
      assert.equal(request.path, '/v1/embeddings?api-version=2024-10-21')
      assert.equal(request.headers['api-key'], 'azure-key')
      assert.isUndefined(request.headers.authorization)
      assert.equal(request.body.dimensions, 256)
    }
  })

  test("the provider's errors and malformed answers are ProviderErrors", async ({ assert }) => {
    const call = () =>
      openAiCompatibleEmbeddings(connection(fake), 'embed', ['a', 'b'], AbortSignal.timeout(5000))

    fake.use((_request, response) => {
      response.writeHead(429, { 'content-type': 'application/json', 'retry-after': '2' })
      response.end(JSON.stringify({ error: { message: 'Slow down' } }))
    })
    let error = await call().catch((e) => e)
    assert.instanceOf(error, ProviderError)
    assert.equal(error.status, 429)
    assert.isTrue(error.retryable)
    assert.equal(error.retryAfterMs, 2000)
    assert.include(error.message, 'Slow down')

    fake.use((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ data: [{ index: 0, embedding: [1, 2] }] }))
    })
    error = await call().catch((e) => e)
    assert.instanceOf(error, ProviderError)
    assert.include(error.message, '1 embeddings for 2 inputs')

    fake.use((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ data: [{ embedding: [1, 'x'] }, { embedding: [1, 2] }] }))
    })
    error = await call().catch((e) => e)
    assert.instanceOf(error, ProviderError)
    assert.include(error.message, 'not a list of numbers')

    fake.use((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end('<html>oops</html>')
    })
    error = await call().catch((e) => e)
    assert.instanceOf(error, ProviderError)
    assert.include(error.message, 'not JSON')
  })

  test('a tenant-owned provider (publicOnly) may not reach a private address', async ({
    assert,
  }) => {
    process.env.PROVIDER_ALLOW_PRIVATE_NETWORKS = 'false'
    const error = await openAiCompatibleEmbeddings(
      connection(fake, { publicOnly: true }),
      'embed',
      ['a'],
      AbortSignal.timeout(5000)
    ).catch((e) => e)
    assert.instanceOf(error, ProviderError)
    assert.equal(error.status, 403)
    assert.lengthOf(fake.requests, 0)
  })
})
