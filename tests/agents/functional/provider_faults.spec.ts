import { test } from '@japa/runner'
import type { ApiClient } from '@japa/api-client'
import db from '@adonisjs/lucid/services/db'
import { balanceOf, verifyLedger } from '#credits'
import { runsIdle } from '#agents/services/run_executor'
import { allowPrivateNetworks, FAST, fakeProvider, parseSse } from '#tests/helpers/agents'
import { anthropic, FakeLlm, openai, type Scenario } from '#tests/helpers/fake_llm'
import { WorkspaceFactory, type Workspace } from '#database/factories/workspace_factory'

/*
 * The fault matrix: real HTTP adapters against local fake servers. Every case must end in a
 * terminal run state within its deadline, send the client a terminal SSE event, and leave the
 * ledger clean. These run committed (the run outlives the request's own bookkeeping) and
 * delete their workspace afterwards.
 */

type World = Workspace & { token: string; fake: FakeLlm; model: string }

async function world(
  kind: 'openai' | 'anthropic',
  scenario: Scenario,
  options: {
    settings?: Record<string, unknown>
    maxTokens?: number
    agent?: Record<string, unknown>
  } = {},
  onEnd: (fn: () => Promise<void>) => void,
  client: ApiClient
): Promise<World> {
  const workspace = await WorkspaceFactory.create({ grant: 1_000_000_000n, token: true })
  const fake = await FakeLlm.start(kind, scenario)
  onEnd(async () => {
    await runsIdle()
    await fake.close()
    await db.from('tenants').where('id', workspace.tenant.id).delete()
    await db.from('users').where('id', workspace.owner.id).delete()
  })
  const { model } = await fakeProvider(workspace.tenant.id, fake, {
    settings: { ...FAST, ...options.settings },
  })
  const created = await client
    .post('/api/v1/agents')
    .bearerToken(workspace.token)
    .json({
      name: 'Fake',
      slug: 'fake',
      instructions: 'Be brief.',
      model,
      max_tokens: options.maxTokens ?? 64,
      ...options.agent,
    })
  created.assertStatus(201)
  return { ...workspace, fake, model }
}

/** Runs the agent over SSE; returns the events, the final run (from the terminal event) and the time taken. */
async function streamRun(client: ApiClient, w: World, input = 'Say hello.') {
  const started = Date.now()
  const response = await client
    .post('/api/v1/agents/fake/runs')
    .bearerToken(w.token)
    .header('accept', 'text/event-stream')
    .json({ input })
  const elapsed = Date.now() - started
  const events = parseSse(response.text())
  const last = events.at(-1)!
  const data = JSON.parse(last.data)
  await runsIdle()
  return { events, last, run: last.event === 'done' ? data : data.run, elapsed }
}

async function assertClean(assert: any, w: World) {
  assert.deepEqual(await verifyLedger(w.tenant.id), [])
  assert.equal(BigInt((await balanceOf(w.tenant.id)).held), 0n)
  const row = await db
    .from('runs')
    .where('tenant_id', w.tenant.id)
    .orderBy('created_at', 'desc')
    .first()
  assert.include(['succeeded', 'failed', 'cancelled'], row.status)
}

test.group('agents / providers: OpenAI-compatible fault matrix', (group) => {
  allowPrivateNetworks(group)

  test('streams text, sends the request OpenAI expects, and bills the reported usage', async ({
    client,
    assert,
    cleanup,
  }) => {
    const w = await world(
      'openai',
      openai.stream(['Hel', 'lo ', 'there'], {
        usage: {
          prompt_tokens: 11,
          completion_tokens: 3,
          total_tokens: 14,
          prompt_tokens_details: { cached_tokens: 4 },
          completion_tokens_details: { reasoning_tokens: 2 },
        },
      }),
      {},
      cleanup,
      client
    )
    const { events, run } = await streamRun(client, w)
    assert.equal(events[0].event, 'run')
    assert.deepEqual(
      events.filter((e) => e.event === 'delta').map((e) => JSON.parse(e.data).text),
      ['Hel', 'lo ', 'there']
    )
    assert.equal(events.at(-1)!.event, 'done')
    assert.equal(run.status, 'succeeded')
    assert.equal(run.output, 'Hello there')
    assert.deepEqual(run.usage, {
      input_tokens: 11,
      output_tokens: 3,
      cached_tokens: 4,
      reasoning_tokens: 2,
      estimated: false,
    })
    assert.equal(run.cost_credits, '0.000017') // 11 × 1 + 3 × 2 micro-credits
    assert.deepEqual(run.price, {
      model: w.model,
      input_credits_per_1m: '1',
      output_credits_per_1m: '2',
      effective_from: run.price.effective_from,
    })
    const sent = w.fake.requests[0]
    assert.equal(sent.path, '/v1/chat/completions')
    assert.equal(sent.headers.authorization, 'Bearer sk-test-0123456789abcd')
    assert.deepInclude(sent.body, {
      model: 'fake-model',
      stream: true,
      max_tokens: 64,
      stream_options: { include_usage: true },
    })
    assert.deepEqual(sent.body.messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Say hello.' },
    ])
    await assertClean(assert, w)
  }).tags(['@committed'])

  test('Azure OpenAI: api_version goes in the query and the key in the api-key header', async ({
    client,
    assert,
    cleanup,
  }) => {
    const w = await world(
      'openai',
      openai.stream(['azure']),
      { settings: { api_version: '2024-10-21', headers: { 'x-ms-client': 'agora' } } },
      cleanup,
      client
    )
    const { run } = await streamRun(client, w)
    assert.equal(run.status, 'succeeded')
    const sent = w.fake.requests[0]
    assert.equal(sent.path, '/v1/chat/completions?api-version=2024-10-21')
    assert.equal(sent.headers['api-key'], 'sk-test-0123456789abcd')
    assert.isUndefined(sent.headers.authorization)
    assert.equal(sent.headers['x-ms-client'], 'agora')
    await assertClean(assert, w)
  }).tags(['@committed'])

  test('tool calls stream in pieces and are kept, whole, on the step', async ({
    client,
    assert,
    cleanup,
  }) => {
    const tools = [
      {
        type: 'function',
        function: {
          name: 'weather',
          description: 'Weather in a city',
          parameters: { type: 'object', properties: { city: { type: 'string' } } },
        },
      },
    ]
    const w = await world(
      'openai',
      openai.stream([], {
        toolCalls: [{ id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' }],
      }),
      { agent: { tools } },
      cleanup,
      client
    )
    const { run } = await streamRun(client, w)
    assert.equal(run.status, 'succeeded')
    assert.deepEqual(run.steps[0].tool_calls, [
      { id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' },
    ])
    assert.deepEqual(w.fake.requests[0].body.tools, tools)
    await assertClean(assert, w)
  }).tags(['@committed'])

  test('429 with Retry-After: waits as told, retries, succeeds; both attempts are steps', async ({
    client,
    assert,
    cleanup,
  }) => {
    const ok = openai.stream(['after the wait'])
    const w = await world(
      'openai',
      (req, res, index) =>
        index === 0
          ? openai.status(429, { 'retry-after': '1' })(req, res, index)
          : ok(req, res, index),
      {},
      cleanup,
      client
    )
    const { run, elapsed, last } = await streamRun(client, w)
    assert.equal(last.event, 'done')
    assert.equal(run.status, 'succeeded')
    assert.isAtLeast(elapsed, 1000)
    assert.isBelow(elapsed, 3000)
    assert.deepEqual(
      run.steps.map((s: any) => [s.kind, s.status]),
      [
        ['model_call', 'failed'],
        ['retry', 'succeeded'],
      ]
    )
    assert.equal(run.steps[0].error.status, 429)
    assert.equal(run.steps[0].error.retry_after_ms, 1000)
    assert.equal(run.steps[0].cost_credits, '0')
    assert.lengthOf(w.fake.requests, 2)
    await assertClean(assert, w)
  }).tags(['@committed'])

  test('a Retry-After longer than the provider allows moves on instead of waiting', async ({
    client,
    assert,
    cleanup,
  }) => {
    const w = await world(
      'openai',
      openai.status(429, { 'retry-after': '120' }),
      { settings: { max_retry_wait_ms: 5000 } },
      cleanup,
      client
    )
    const { run, elapsed } = await streamRun(client, w)
    assert.equal(run.status, 'failed')
    assert.isBelow(elapsed, 2000)
    assert.lengthOf(w.fake.requests, 1)
    await assertClean(assert, w)
  }).tags(['@committed'])

  test('500 on every attempt: retried with backoff, then failed (502), nothing charged', async ({
    client,
    assert,
    cleanup,
  }) => {
    const w = await world(
      'openai',
      openai.status(500),
      { settings: { max_retries: 2 } },
      cleanup,
      client
    )
    const { run, last } = await streamRun(client, w)
    assert.equal(last.event, 'error')
    assert.equal(JSON.parse(last.data).status, 502)
    assert.equal(run.status, 'failed')
    assert.deepEqual(
      run.steps.map((s: any) => s.status),
      ['failed', 'failed', 'failed']
    )
    assert.equal(run.error_type, 'provider_error')
    assert.equal(run.cost_credits, '0')
    assert.lengthOf(w.fake.requests, 3)
    await assertClean(assert, w)
  }).tags(['@committed'])

  test('no first byte before the first-token timeout: each attempt times out, the run fails (504) in time', async ({
    client,
    assert,
    cleanup,
  }) => {
    const w = await world('openai', openai.silent(), {}, cleanup, client)
    const { run, elapsed, last } = await streamRun(client, w)
    assert.equal(last.event, 'error')
    assert.equal(run.status, 'failed')
    assert.equal(run.error.status, 504)
    assert.equal(run.error_type, 'timeout')
    assert.isBelow(elapsed, 2500) // 2 attempts × 400 ms + backoff
    assert.deepEqual(
      run.steps.map((s: any) => s.error.status),
      [504, 504]
    )
    await assertClean(assert, w)
  }).tags(['@committed'])

  test('a connection reset mid-stream ends the run failed, charged for what was streamed (estimated)', async ({
    client,
    assert,
    cleanup,
  }) => {
    const w = await world(
      'openai',
      openai.resetMidStream(['Partial ', 'answer ']),
      {},
      cleanup,
      client
    )
    const { run, last } = await streamRun(client, w)
    assert.equal(last.event, 'error')
    assert.equal(run.status, 'failed')
    assert.equal(run.output, 'Partial answer ')
    assert.isTrue(run.usage.estimated)
    assert.equal(run.usage.output_tokens, Math.ceil('Partial answer '.length / 4))
    assert.notEqual(run.cost_credits, '0')
    assert.lengthOf(w.fake.requests, 1) // streamed text cannot be retried transparently
    await assertClean(assert, w)
  }).tags(['@committed'])

  test('malformed SSE (an event that is not JSON) fails the run cleanly', async ({
    client,
    assert,
    cleanup,
  }) => {
    const w = await world('openai', openai.malformed(), {}, cleanup, client)
    const { run, last } = await streamRun(client, w)
    assert.equal(last.event, 'error')
    assert.equal(run.status, 'failed')
    assert.match(run.error.detail, /malformed/)
    assert.equal(run.error_type, 'provider_error')
    assert.equal(run.output, 'Fine so far. ')
    await assertClean(assert, w)
  }).tags(['@committed'])

  test('missing usage: counted as ceil(characters / 4) and marked estimated', async ({
    client,
    assert,
    cleanup,
  }) => {
    const w = await world(
      'openai',
      openai.stream(['twelve chars'], { usage: null }),
      {},
      cleanup,
      client
    )
    const { run } = await streamRun(client, w)
    assert.equal(run.status, 'succeeded')
    assert.deepEqual(run.usage, {
      input_tokens: Math.ceil(('Be brief.'.length + 'Say hello.'.length) / 4),
      output_tokens: 3,
      estimated: true,
    })
    assert.isTrue(run.steps[0].usage.estimated)
    const row = await db.from('runs').where('id', run.id).first()
    assert.isTrue(row.usage_estimated)
    await assertClean(assert, w)
  }).tags(['@committed'])

  test('a 10 MB answer is cut at the hold (max_tokens): we stop reading, the run ends, spend ≤ hold', async ({
    client,
    assert,
    cleanup,
  }) => {
    const w = await world(
      'openai',
      openai.huge(10 * 1024 * 1024),
      { maxTokens: 50 },
      cleanup,
      client
    )
    const { run, elapsed } = await streamRun(client, w)
    assert.equal(run.status, 'succeeded')
    assert.isBelow(elapsed, 3000)
    assert.isAtMost(run.output.length, 200) // 50 tokens × 4 characters
    assert.isAbove(run.output.length, 0)
    assert.isTrue(run.usage.estimated)
    const row = await db.from('runs').where('id', run.id).first()
    assert.isTrue(BigInt(row.cost_micros) <= BigInt(row.hold_micros))
    await assertClean(assert, w)
  }).tags(['@committed'])

  test('a 1 byte/s stream ends by its deadline', async ({ client, assert, cleanup }) => {
    const w = await world(
      'openai',
      openai.drip(1000),
      { settings: { first_token_timeout_ms: 5000, total_timeout_ms: 800, max_retries: 0 } },
      cleanup,
      client
    )
    const { run, elapsed, last } = await streamRun(client, w)
    assert.equal(last.event, 'error')
    assert.equal(run.status, 'failed')
    assert.equal(run.error.status, 504)
    assert.isBelow(elapsed, 2000)
    await assertClean(assert, w)
  }).tags(['@committed'])

  test('a huge upstream error body reaches the tenant as one short line', async ({
    client,
    assert,
    cleanup,
  }) => {
    const secretish = 'stack frame at internal.example:42\n'.repeat(1000)
    const w = await world(
      'openai',
      openai.errorBody(400, JSON.stringify({ error: { message: `Bad request.\n${secretish}` } })),
      {},
      cleanup,
      client
    )
    const json = await streamRun(client, w)
    w.fake.use(
      openai.errorBody(
        400,
        `<html>\n<body>\n${'<p>Oops</p>\n'.repeat(4000)}</body></html>`,
        'text/html'
      )
    )
    const html = await streamRun(client, w)
    for (const { run, last } of [json, html]) {
      assert.equal(last.event, 'error')
      assert.equal(run.status, 'failed')
      assert.equal(run.error_type, 'invalid_request')
      const shown = [
        run.error.detail,
        JSON.parse(last.data).detail,
        ...run.steps.map((s: any) => s.error.message),
      ]
      for (const text of shown) {
        assert.match(text, /^The provider answered 400: /)
        assert.notMatch(text, /[\r\n]/)
        assert.isAtMost(text.length, 'The provider answered 400: '.length + 300)
      }
    }
    assert.match(
      json.run.error.detail,
      /^The provider answered 400: Bad request\. stack frame .*…$/
    )
    assert.match(
      html.run.error.detail,
      /^The provider answered 400: <html> <body> <p>Oops<\/p> .*…$/
    )
    await assertClean(assert, w)
  }).tags(['@committed'])

  test('a workspace provider may not reach a private address unless allowed (SSRF guard)', async ({
    client,
    assert,
    cleanup,
  }) => {
    const w = await world('openai', openai.stream(['never']), {}, cleanup, client)
    process.env.PROVIDER_ALLOW_PRIVATE_NETWORKS = 'false'
    const { run } = await streamRun(client, w)
    assert.equal(run.status, 'failed')
    assert.match(run.error.detail, /private network/)
    assert.lengthOf(w.fake.requests, 0)
    await assertClean(assert, w)
  }).tags(['@committed'])
})

test.group('agents / providers: Anthropic fault matrix', (group) => {
  allowPrivateNetworks(group)

  test('streams Messages events; usage counts cached prompt tokens as input; the request is Anthropic-shaped', async ({
    client,
    assert,
    cleanup,
  }) => {
    const w = await world('anthropic', anthropic.stream(['Bon', 'jour']), {}, cleanup, client)
    const { run, last } = await streamRun(client, w)
    assert.equal(last.event, 'done')
    assert.equal(run.output, 'Bonjour')
    assert.deepEqual(run.usage, {
      input_tokens: 12,
      output_tokens: 4,
      cached_tokens: 3,
      estimated: false,
    })
    const sent = w.fake.requests[0]
    assert.equal(sent.path, '/v1/messages')
    assert.equal(sent.headers['x-api-key'], 'sk-test-0123456789abcd')
    assert.equal(sent.headers['anthropic-version'], '2023-06-01')
    assert.deepInclude(sent.body, {
      model: 'fake-model',
      system: 'Be brief.',
      stream: true,
      max_tokens: 64,
    })
    assert.deepEqual(sent.body.messages, [{ role: 'user', content: 'Say hello.' }])
    await assertClean(assert, w)
  }).tags(['@committed'])

  test('tool use: the tool call and its streamed JSON input are kept on the step', async ({
    client,
    assert,
    cleanup,
  }) => {
    const tools = [
      {
        name: 'weather',
        description: 'Weather',
        parameters: { type: 'object', properties: { city: { type: 'string' } } },
      },
    ]
    const w = await world(
      'anthropic',
      anthropic.stream(['Checking.'], {
        toolUse: { id: 'toolu_1', name: 'weather', input: { city: 'Oslo' } },
      }),
      { agent: { tools } },
      cleanup,
      client
    )
    const { run } = await streamRun(client, w)
    assert.equal(run.status, 'succeeded')
    assert.deepEqual(run.steps[0].tool_calls, [
      { id: 'toolu_1', name: 'weather', arguments: '{"city":"Oslo"}' },
    ])
    assert.deepEqual(w.fake.requests[0].body.tools, [
      { name: 'weather', description: 'Weather', input_schema: tools[0].parameters },
    ])
    await assertClean(assert, w)
  }).tags(['@committed'])

  test('529 overloaded is retried; an error event mid-stream before any text is retried too', async ({
    client,
    assert,
    cleanup,
  }) => {
    const ok = anthropic.stream(['ok'])
    const w = await world(
      'anthropic',
      (req, res, i) =>
        i === 0
          ? anthropic.status(529, { 'retry-after': '0' })(req, res, i)
          : i === 1
            ? anthropic.overloadedMidStream()(req, res, i)
            : ok(req, res, i),
      { settings: { max_retries: 2 } },
      cleanup,
      client
    )
    const { run } = await streamRun(client, w)
    assert.equal(run.status, 'succeeded')
    assert.deepEqual(
      run.steps.map((s: any) => s.status),
      ['failed', 'failed', 'succeeded']
    )
    assert.equal(run.steps[0].error.status, 529)
    await assertClean(assert, w)
  }).tags(['@committed'])

  test('missing usage is estimated and marked', async ({ client, assert, cleanup }) => {
    const w = await world(
      'anthropic',
      anthropic.stream(['12345678'], { usage: false }),
      {},
      cleanup,
      client
    )
    const { run } = await streamRun(client, w)
    assert.equal(run.status, 'succeeded')
    assert.isTrue(run.usage.estimated)
    assert.equal(run.usage.output_tokens, 2)
    await assertClean(assert, w)
  }).tags(['@committed'])

  test('timeout before the first byte and a reset mid-stream end in terminal states', async ({
    client,
    assert,
    cleanup,
  }) => {
    const w = await world(
      'anthropic',
      openai.silent(),
      { settings: { max_retries: 0 } },
      cleanup,
      client
    )
    const first = await streamRun(client, w)
    assert.equal(first.run.status, 'failed')
    assert.equal(first.run.error.status, 504)
    w.fake.use((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write(
        'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":5,"output_tokens":1}}}\n\n'
      )
      res.write(
        'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Half"}}\n\n'
      )
      setTimeout(() => res.socket?.resetAndDestroy(), 20)
    })
    const second = await streamRun(client, w)
    assert.equal(second.last.event, 'error')
    assert.equal(second.run.output, 'Half')
    await assertClean(assert, w)
  }).tags(['@committed'])
})
