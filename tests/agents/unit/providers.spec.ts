import { test } from '@japa/runner'
import { parseSse } from '#agents/providers/sse'
import { parseRetryAfter } from '#agents/providers/http'
import { isPrivateAddress } from '#core'
import {
  MemoryBreakerStore,
  RedisBreakerStore,
  type BreakerSettings,
} from '#agents/services/circuit_breaker'
import { retryDelayMs } from '#agents/services/run_executor'
import { toolDefinitions } from '#agents/services/agent_runtime'
import { costMicros } from '#agents/services/catalog'
import { OpenAiCompatibleProvider } from '#agents/providers/openai_compatible'
import { AnthropicProvider } from '#agents/providers/anthropic'
import { SimulatorProvider } from '#agents/providers/simulator'
import {
  ProviderError,
  type ChatMessage,
  type CompletionRequest,
  type StreamChunk,
  type ToolCall,
} from '#agents/providers/types'
import { FakeLlm, anthropic, openai } from '#tests/helpers/fake_llm'

async function collect(chunks: (string | Buffer)[]) {
  const events = []
  async function* source() {
    for (const chunk of chunks) yield chunk
  }
  for await (const event of parseSse(source())) events.push(event)
  return events
}

test.group('agents / providers: SSE parsing', () => {
  test('events split anywhere (even inside a UTF-8 character) are reassembled', async ({
    assert,
  }) => {
    const text = 'event: a\ndata: {"t":"héllo"}\n\ndata: second\n\n'
    const bytes = Buffer.from(text)
    const chunks = [...bytes].map((byte) => Buffer.from([byte]))
    const events = await collect(chunks)
    assert.deepEqual(events, [
      { event: 'a', data: '{"t":"héllo"}' },
      { event: 'message', data: 'second' },
    ])
  })

  test('CRLF and lone CR end lines; comments are skipped; multi-line data joins with \\n', async ({
    assert,
  }) => {
    const events = await collect([
      ': keep-alive\r\n',
      'data: one\r\ndata: two\r\n\r\n',
      'data: three\r\rdata: last',
    ])
    assert.deepEqual(
      events.map((e) => e.data),
      ['one\ntwo', 'three', 'last']
    )
  })

  test('an event over the size limit is refused instead of buffered', async ({ assert }) => {
    const error = await collect(['data: ' + 'x'.repeat(1024 * 1024 + 10)]).catch((e) => e)
    assert.match(error.message, /exceeds/)
    assert.isFalse(error.retryable)
  })
})

test.group('agents / providers: retries and addresses', () => {
  test('Retry-After is read as seconds, as an HTTP date, or as retry-after-ms', ({ assert }) => {
    const now = Date.parse('2026-01-01T00:00:00Z')
    assert.equal(parseRetryAfter({ 'retry-after': '2' }, now), 2000)
    assert.equal(parseRetryAfter({ 'retry-after': '0.5' }, now), 500)
    assert.equal(parseRetryAfter({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }, now), 3000)
    assert.equal(parseRetryAfter({ 'retry-after': 'Wed, 31 Dec 2025 00:00:00 GMT' }, now), 0)
    assert.equal(parseRetryAfter({ 'retry-after-ms': '150', 'retry-after': '9' }, now), 150)
    assert.isUndefined(parseRetryAfter({ 'retry-after': 'soon' }, now))
    assert.isUndefined(parseRetryAfter({}, now))
  })

  test('backoff is exponential with jitter, capped; Retry-After wins with at most 10 % more', ({
    assert,
  }) => {
    assert.equal(
      retryDelayMs(0, undefined, () => 0),
      100
    )
    assert.equal(
      retryDelayMs(0, undefined, () => 1),
      200
    )
    assert.equal(
      retryDelayMs(3, undefined, () => 0),
      800
    )
    assert.equal(
      retryDelayMs(10, undefined, () => 1),
      4000
    )
    assert.equal(
      retryDelayMs(0, 1000, () => 0),
      1000
    )
    assert.equal(
      retryDelayMs(0, 1000, () => 1),
      1100
    )
  })

  test('private, loopback and link-local addresses are recognised (SSRF guard)', ({ assert }) => {
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '::1',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '0.0.0.0',
      '100.64.0.1',
    ]) {
      assert.isTrue(isPrivateAddress(address), address)
    }
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700::1111', 'api.openai.com'])
      assert.isFalse(isPrivateAddress(address), address)
  })

  test('IPv6 forms that embed a private IPv4 address are refused; public ones pass (SSRF guard)', ({
    assert,
  }) => {
    for (const address of [
      '64:ff9b::7f00:1', // NAT64 well-known prefix → 127.0.0.1
      '64:ff9b::a9fe:a9fe', // → 169.254.169.254 (cloud metadata)
      '64:ff9b::10.0.0.1',
      '64:ff9b:1::808:808', // local-use NAT64: refused whatever it embeds
      '2002:7f00:1::', // 6to4 → 127.0.0.1
      '2002:a9fe:a9fe::1',
      '2002:c0a8:101::', // → 192.168.1.1
      '::ffff:127.0.0.1', // IPv4-mapped
      '::ffff:7f00:1',
      '::ffff:a9fe:a9fe', // → 169.254.169.254
      '0:0:0:0:0:ffff:a00:1', // → 10.0.0.1
      '::127.0.0.1', // IPv4-compatible
      '::a9fe:a9fe',
      '::ffff:0:127.0.0.1', // IPv4-translated
      '2001:0:4136:e378:8000:63bf:80ff:fffe', // Teredo, client 127.0.0.1
      'fec0::1', // site-local
      'fe80::1%eth0',
    ]) {
      assert.isTrue(isPrivateAddress(address), address)
    }
    for (const address of [
      '64:ff9b::808:808', // NAT64 → 8.8.8.8
      '2002:808:808::1', // 6to4 → 8.8.8.8
      '::ffff:8.8.8.8',
      '::ffff:101:101', // → 1.1.1.1
      '2a00:1450:4001:80b::200e',
    ]) {
      assert.isFalse(isPrivateAddress(address), address)
    }
  })

  test('agent tools in OpenAI, bare or Anthropic shape become function definitions', ({
    assert,
  }) => {
    const params = { type: 'object', properties: { city: { type: 'string' } } }
    assert.deepEqual(
      toolDefinitions([
        {
          type: 'function',
          function: { name: 'weather', description: 'Weather', parameters: params },
        },
        { name: 'time' },
        { name: 'x', input_schema: params },
        'junk',
        { nope: 1 },
      ]),
      [
        { name: 'weather', description: 'Weather', parameters: params },
        { name: 'time' },
        { name: 'x', parameters: params },
      ]
    )
    assert.isUndefined(toolDefinitions([]))
  })

  test('cost is ceil((in × price_in + out × price_out) / 1M) in micro-credits', ({ assert }) => {
    assert.equal(costMicros(3, 40, { inputPrice: 1_000_000n, outputPrice: 2_000_000n }), 83n)
    assert.equal(costMicros(3, 0, { inputPrice: 150_000n, outputPrice: 0n }), 1n)
    assert.equal(costMicros(0, 0, { inputPrice: 150_000n, outputPrice: 600_000n }), 0n)
  })
})

const settings: BreakerSettings = { failureThreshold: 3, cooldownMs: 1000, probeLeaseMs: 500 }

test.group('agents / circuit breaker (state machine)', () => {
  test('closed → open after N consecutive failures; a success resets the count', async ({
    assert,
  }) => {
    let now = 0
    const store = new MemoryBreakerStore(() => now)
    await store.failure('p', settings)
    await store.failure('p', settings)
    await store.success('p')
    await store.failure('p', settings)
    await store.failure('p', settings)
    assert.equal(await store.state('p'), 'closed')
    assert.isTrue((await store.acquire('p', settings)).allowed)
    assert.equal(await store.failure('p', settings), 'open')
    assert.deepInclude(await store.acquire('p', settings), { allowed: false, state: 'open' })
    now = 999
    assert.isFalse((await store.acquire('p', settings)).allowed)
  })

  test('after the cool-down, half-open lets ONE probe through; its success closes, its failure re-opens', async ({
    assert,
  }) => {
    let now = 0
    const store = new MemoryBreakerStore(() => now)
    for (let i = 0; i < 3; i++) await store.failure('p', settings)
    now = 1000
    assert.deepInclude(await store.acquire('p', settings), { allowed: true, state: 'half_open' })
    assert.deepInclude(await store.acquire('p', settings), { allowed: false, state: 'half_open' })
    assert.equal(await store.failure('p', settings), 'open')
    now = 1500
    assert.isFalse((await store.acquire('p', settings)).allowed)
    now = 2000
    assert.isTrue((await store.acquire('p', settings)).allowed)
    await store.success('p')
    assert.equal(await store.state('p'), 'closed')
    assert.deepInclude(await store.acquire('p', settings), { allowed: true, state: 'closed' })
  })

  test('a probe that never reports back loses its lease: another caller may probe', async ({
    assert,
  }) => {
    let now = 0
    const store = new MemoryBreakerStore(() => now)
    for (let i = 0; i < 3; i++) await store.failure('p', settings)
    now = 1000
    assert.isTrue((await store.acquire('p', settings)).allowed)
    now = 1499
    assert.isFalse((await store.acquire('p', settings)).allowed)
    now = 1500
    assert.isTrue((await store.acquire('p', settings)).allowed)
  })

  test('the Redis store follows the same machine, shared by every process (when REDIS_URL is set)', async ({
    assert,
  }) => {
    const store = new RedisBreakerStore()
    const id = `test-${Date.now()}-${Math.random()}`
    const quick = { failureThreshold: 2, cooldownMs: 150, probeLeaseMs: 100 }
    try {
      assert.deepEqual(await store.acquire(id, quick), {
        allowed: true,
        state: 'closed',
        failures: 0,
      })
      assert.equal(await store.failure(id, quick), 'closed')
      assert.equal(await store.failure(id, quick), 'open')
      assert.isFalse((await store.acquire(id, quick)).allowed)
      await new Promise((r) => setTimeout(r, 170))
      assert.deepInclude(await store.acquire(id, quick), { allowed: true, state: 'half_open' })
      assert.isFalse((await store.acquire(id, quick)).allowed)
      assert.equal(await store.failure(id, quick), 'open')
      await new Promise((r) => setTimeout(r, 170))
      assert.isTrue((await store.acquire(id, quick)).allowed)
      await store.success(id)
      assert.equal(await store.state(id), 'closed')
    } finally {
      await store.success(id)
    }
  }).skip(!process.env.REDIS_URL, 'REDIS_URL is not set')
})

const signal = () => new AbortController().signal

async function drain(iterable: AsyncIterable<StreamChunk>) {
  const chunks: StreamChunk[] = []
  for await (const chunk of iterable) chunks.push(chunk)
  return chunks
}

/** The tool calls of a streamed answer, fragments joined by index. */
function toolCallsOf(chunks: StreamChunk[]): ToolCall[] {
  const calls: ToolCall[] = []
  for (const chunk of chunks) {
    if (chunk.type !== 'tool_call') continue
    const call = (calls[chunk.index] ??= { id: '', name: '', arguments: '' })
    call.id += chunk.id ?? ''
    call.name += chunk.name ?? ''
    call.arguments += chunk.arguments ?? ''
  }
  return calls
}

const weatherTool = {
  name: 'weather',
  parameters: { type: 'object', properties: { city: { type: 'string' } } },
}

test.group('agents / providers: tool round trips on the wire', (group) => {
  let openaiFake: FakeLlm
  let anthropicFake: FakeLlm
  group.setup(async () => {
    openaiFake = await FakeLlm.start('openai')
    anthropicFake = await FakeLlm.start('anthropic')
    return async () => {
      await openaiFake.close()
      await anthropicFake.close()
    }
  })
  group.each.setup(() => {
    openaiFake.requests = []
    anthropicFake.requests = []
  })

  test('OpenAI: the tool call and its result go back as tool_calls and a tool message', async ({
    assert,
  }) => {
    const provider = new OpenAiCompatibleProvider({
      baseUrl: openaiFake.baseUrl,
      apiKey: 'k',
      settings: {},
    })
    const messages: ChatMessage[] = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Weather in Paris?' },
    ]
    const call = { id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' }
    openaiFake.use(openai.stream([], { toolCalls: [call] }))
    const first = await drain(
      provider.stream({
        model: 'm',
        messages,
        maxTokens: 50,
        tools: [weatherTool],
        signal: signal(),
      })
    )
    assert.deepEqual(toolCallsOf(first), [call])

    messages.push(
      { role: 'assistant', content: '', toolCalls: toolCallsOf(first) },
      { role: 'tool', toolCallId: 'call_1', name: 'weather', content: '{"temp":21}' }
    )
    openaiFake.use(openai.stream(['21 degrees.']))
    await drain(
      provider.stream({
        model: 'm',
        messages,
        maxTokens: 50,
        tools: [weatherTool],
        signal: signal(),
      })
    )
    assert.deepEqual(openaiFake.requests[1].body.messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_1',
            type: 'function',
            function: { name: 'weather', arguments: '{"city":"Paris"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '{"temp":21}' },
    ])
  })

  test('Anthropic: the tool call and its result go back as tool_use and tool_result blocks', async ({
    assert,
  }) => {
    const provider = new AnthropicProvider({
      baseUrl: anthropicFake.baseUrl,
      apiKey: 'k',
      settings: {},
    })
    const messages: ChatMessage[] = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Weather in Paris?' },
    ]
    anthropicFake.use(
      anthropic.stream(['Checking.'], {
        toolUse: { id: 'toolu_1', name: 'weather', input: { city: 'Paris' } },
      })
    )
    const first = await drain(
      provider.stream({
        model: 'm',
        messages,
        maxTokens: 50,
        tools: [weatherTool],
        signal: signal(),
      })
    )
    assert.deepEqual(toolCallsOf(first).filter(Boolean), [
      { id: 'toolu_1', name: 'weather', arguments: '{"city":"Paris"}' },
    ])

    messages.push(
      { role: 'assistant', content: 'Checking.', toolCalls: toolCallsOf(first).filter(Boolean) },
      { role: 'tool', toolCallId: 'toolu_1', name: 'weather', content: '{"temp":21}' }
    )
    anthropicFake.use(anthropic.stream(['21 degrees.']))
    await drain(
      provider.stream({
        model: 'm',
        messages,
        maxTokens: 50,
        tools: [weatherTool],
        signal: signal(),
      })
    )
    const body = anthropicFake.requests[1].body
    assert.equal(body.system, 'Be brief.')
    assert.deepEqual(body.messages, [
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Paris' } },
        ],
      },
      {
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '{"temp":21}' }],
      },
    ])
  })

  test('Anthropic: results of one turn merge into ONE user turn; bad arguments become {}', async ({
    assert,
  }) => {
    const provider = new AnthropicProvider({
      baseUrl: anthropicFake.baseUrl,
      apiKey: 'k',
      settings: {},
    })
    anthropicFake.use(anthropic.stream(['Done.']))
    await drain(
      provider.stream({
        model: 'm',
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'user', content: 'Two things?' },
          {
            role: 'assistant',
            content: '',
            toolCalls: [
              { id: 'toolu_a', name: 'weather', arguments: '{"city":' },
              { id: 'toolu_b', name: 'time', arguments: '[1]' },
            ],
          },
          { role: 'tool', toolCallId: 'toolu_a', name: 'weather', content: '{"error":"bad"}' },
          { role: 'tool', toolCallId: 'toolu_b', name: 'time', content: '"noon"' },
          { role: 'user', content: 'Thanks' },
        ],
        maxTokens: 50,
        signal: signal(),
      })
    )
    assert.deepEqual(anthropicFake.requests[0].body.messages, [
      // Plain text turns still merge as strings.
      { role: 'user', content: 'Hi\n\nTwo things?' },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'toolu_a', name: 'weather', input: {} },
          { type: 'tool_use', id: 'toolu_b', name: 'time', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_a', content: '{"error":"bad"}' },
          { type: 'tool_result', tool_use_id: 'toolu_b', content: '"noon"' },
          { type: 'text', text: 'Thanks' },
        ],
      },
    ])
  })
})

test.group('agents / providers: simulator tools', () => {
  const simulator = new SimulatorProvider()
  const ask = (
    content: string,
    tools?: { name: string }[],
    extra: Partial<CompletionRequest> = {}
  ) =>
    drain(
      simulator.stream({
        model: 'simulator/echo',
        messages: [
          { role: 'system', content: 'sys' },
          { role: 'user', content },
        ],
        maxTokens: 100,
        tools,
        signal: signal(),
        ...extra,
      })
    )
  const text = (chunks: StreamChunk[]) =>
    chunks.map((chunk) => (chunk.type === 'delta' ? chunk.text : '')).join('')

  test('/tool calls an offered tool once, arguments verbatim, no text', async ({ assert }) => {
    const chunks = await ask('/tool weather {"city":"Paris"}', [{ name: 'weather' }])
    assert.deepEqual(chunks, [
      {
        type: 'tool_call',
        index: 0,
        id: 'call_sim_2',
        name: 'weather',
        arguments: '{"city":"Paris"}',
      },
      { type: 'usage', inputTokens: 9, outputTokens: 6 },
    ])
    assert.deepInclude((await ask('/tool weather', [{ name: 'weather' }]))[0], {
      arguments: '{}',
    })
    assert.deepInclude((await ask('/tool weather  not json ', [{ name: 'weather' }]))[0], {
      arguments: 'not json',
    })
  })

  test('/tool of a tool that is not offered (or without tools) echoes', async ({ assert }) => {
    for (const tools of [[{ name: 'time' }], undefined]) {
      const chunks = await ask('/tool weather {"city":"Paris"}', tools)
      assert.isFalse(chunks.some((chunk) => chunk.type === 'tool_call'))
      assert.equal(text(chunks), '/tool weather {"city":"Paris"}')
    }
    assert.equal(
      text(await ask('no /tool weather {}', [{ name: 'weather' }])),
      'no /tool weather {}'
    )
  })

  test('/handoff calls handoff_to_<slug> with the message; not offered, it echoes', async ({
    assert,
  }) => {
    const chunks = await ask('/handoff billing-team Please refund me', [
      { name: 'handoff_to_billing_team' },
    ])
    assert.deepEqual(chunks[0], {
      type: 'tool_call',
      index: 0,
      id: 'call_sim_2',
      name: 'handoff_to_billing_team',
      arguments: '{"message":"Please refund me"}',
    })
    assert.equal(chunks.length, 2)
    assert.equal(
      text(await ask('/handoff sales Hi', [{ name: 'handoff_to_billing_team' }])),
      '/handoff sales Hi'
    )
  })

  test('tool results are answered "<name> → <result>", one line each, chunked and capped', async ({
    assert,
  }) => {
    const messages: ChatMessage[] = [
      { role: 'user', content: '/tool weather {}' },
      {
        role: 'assistant',
        content: '',
        toolCalls: [
          { id: 'call_sim_1', name: 'weather', arguments: '{}' },
          { id: 'call_sim_1b', name: 'time', arguments: '{}' },
        ],
      },
      { role: 'tool', toolCallId: 'call_sim_1', name: 'weather', content: '{"temp":21}' },
      { role: 'tool', toolCallId: 'call_sim_1b', name: 'time', content: '"noon"' },
    ]
    const tools = [{ name: 'weather' }, { name: 'time' }]
    const chunks = await drain(
      simulator.stream({
        model: 'simulator/echo',
        messages,
        maxTokens: 100,
        tools,
        signal: signal(),
      })
    )
    const expected = 'weather → {"temp":21}\ntime → "noon"'
    assert.equal(text(chunks), expected)
    assert.isFalse(chunks.some((chunk) => chunk.type === 'tool_call'))
    assert.isTrue(chunks.every((chunk) => chunk.type !== 'delta' || chunk.text.length <= 16))
    assert.deepInclude(chunks.at(-1)!, {
      type: 'usage',
      outputTokens: Math.ceil(expected.length / 4),
    })

    const capped = await drain(
      simulator.stream({ model: 'simulator/lorem', messages, maxTokens: 2, signal: signal() })
    )
    assert.equal(text(capped), expected.slice(0, 8))
  })

  test('lorem keeps its output without a command; simulate faults apply before a call', async ({
    assert,
  }) => {
    const lorem = await ask('/tool weather {}', [{ name: 'time' }], {
      model: 'simulator/lorem',
      maxTokens: 5,
    })
    assert.equal(text(lorem), 'Lorem ipsum dolor si')
    const call = await ask('/tool weather {}', [{ name: 'weather' }], { model: 'simulator/lorem' })
    assert.equal(call[0].type, 'tool_call')
    for (const fail of ['429', 'midstream'] as const) {
      const error = await ask('/tool weather {}', [{ name: 'weather' }], {
        simulate: { fail },
      }).catch((e) => e)
      assert.instanceOf(error, ProviderError)
    }
  })
})
