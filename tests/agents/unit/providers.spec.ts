import { test } from '@japa/runner'
import { parseSse } from '#agents/providers/sse'
import { isPrivateAddress, parseRetryAfter } from '#agents/providers/http'
import {
  MemoryBreakerStore,
  RedisBreakerStore,
  type BreakerSettings,
} from '#agents/services/circuit_breaker'
import { retryDelayMs } from '#agents/services/run_executor'
import { toolDefinitions } from '#agents/actions/start_run'
import { costMicros } from '#agents/services/catalog'

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
