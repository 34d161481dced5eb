import { test } from '@japa/runner'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { ApiTokenFactory } from '#database/factories/api_token_factory'

const echo = { name: 'Echo', slug: 'echo', instructions: 'Repeat.', model: 'simulator/echo' }

/** Sets an environment variable for one test (limits are read per request). */
function withEnv(cleanup: (fn: () => void) => void, name: string, value: string) {
  const before = process.env[name]
  process.env[name] = value
  cleanup(() => {
    if (before === undefined) delete process.env[name]
    else process.env[name] = before
  })
}

test.group('auth / API rate limits', () => {
  test('a token gets RateLimit headers, then 429 with Retry-After; another token is not affected', async ({
    client,
    assert,
    cleanup,
  }) => {
    withEnv(cleanup, 'RATE_LIMIT_API_PER_MIN', '3')
    const { owner, tenant, token } = await WorkspaceFactory.create({ token: true })
    const remaining: string[] = []
    for (let i = 0; i < 3; i++) {
      const response = await client.get('/api/v1/me').bearerToken(token!)
      response.assertStatus(200)
      assert.equal(response.header('ratelimit-limit'), '3')
      assert.isAbove(Number(response.header('ratelimit-reset')), 0)
      remaining.push(String(response.header('ratelimit-remaining')))
    }
    assert.deepEqual(remaining, ['2', '1', '0'])
    const refused = await client.get('/api/v1/me').bearerToken(token!)
    refused.assertStatus(429)
    assert.include(refused.header('content-type'), 'application/problem+json')
    assert.isAbove(Number(refused.header('retry-after')), 0)
    assert.equal(refused.header('ratelimit-remaining'), '0')

    const other = await ApiTokenFactory.create(owner, tenant.id)
    ;(await client.get('/api/v1/me').bearerToken(other)).assertStatus(200)
  })

  test('run starts are limited per workspace over every token; a refused start holds nothing', async ({
    client,
    assert,
    cleanup,
  }) => {
    const { owner, tenant, token } = await WorkspaceFactory.create({
      grant: 1_000_000_000n,
      token: true,
    })
    ;(await client.post('/api/v1/agents').bearerToken(token!).json(echo)).assertStatus(201)
    withEnv(cleanup, 'RATE_LIMIT_RUNS_PER_MIN', '2')
    const second = await ApiTokenFactory.create(owner, tenant.id)
    for (const bearer of [token!, second]) {
      const run = await client
        .post('/api/v1/agents/echo/runs')
        .bearerToken(bearer)
        .json({ input: 'hi' })
      run.assertStatus(201)
    }
    const refused = await client
      .post('/api/v1/agents/echo/runs')
      .bearerToken(second)
      .header('Idempotency-Key', 'limited-run-0001')
      .json({ input: 'hi' })
    refused.assertStatus(429)
    assert.isAbove(Number(refused.header('retry-after')), 0)
    const runs = await client.get('/api/v1/runs').bearerToken(token!)
    assert.lengthOf(runs.body().data, 2)
    const balance = await client.get('/api/v1/credits').bearerToken(token!)
    assert.equal(balance.body().held, '0')
  })
})
