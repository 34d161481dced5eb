import http from 'node:http'
import { gzipSync } from 'node:zlib'
import { test } from '@japa/runner'
import { DateTime } from 'luxon'
import {
  builtinToolDefinition,
  BUILTIN_TOOL_NAMES,
  isBuiltinTool,
  runBuiltinTool,
  type BuiltinToolName,
  type ToolContext,
} from '#agents/tools/builtin'
import { calculate } from '#agents/tools/calculator'
import { currentTime } from '#agents/tools/current_time'
import { hostAllowed, httpRequest } from '#agents/tools/http_request'

function context(overrides: Partial<ToolContext> = {}): ToolContext {
  return {
    tenantId: 'tenant-1',
    timeZone: 'Europe/Paris',
    allowedHosts: [],
    signal: new AbortController().signal,
    ...overrides,
  }
}

async function run(name: BuiltinToolName, args: unknown, overrides: Partial<ToolContext> = {}) {
  const text = typeof args === 'string' ? args : JSON.stringify(args)
  return runBuiltinTool(name, text, context(overrides))
}

async function calc(expression: string) {
  const result = await run('calculator', { expression })
  if (!result.ok) throw new Error(result.error)
  return (result.output as { result: number }).result
}

async function calcError(expression: string) {
  const result = await run('calculator', { expression })
  if (result.ok) throw new Error(`"${expression}" evaluated to ${JSON.stringify(result.output)}`)
  return result.error
}

/** Sets environment variables for the duration of fn, then restores them. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>) {
  const saved = Object.fromEntries(Object.keys(vars).map((key) => [key, process.env[key]]))
  const apply = (values: Record<string, string | undefined>) => {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[key]
      else process.env[key] = value
    }
  }
  apply(vars)
  try {
    return await fn()
  } finally {
    apply(saved)
  }
}

const PRIVATE_ON = { TOOLS_ALLOW_PRIVATE_NETWORKS: 'true' }
const PRIVATE_OFF = { TOOLS_ALLOW_PRIVATE_NETWORKS: undefined }

test.group('agents / tools: registry and arguments', () => {
  test('every built-in tool has an object schema that forbids unknown keys', ({ assert }) => {
    for (const name of BUILTIN_TOOL_NAMES) {
      assert.isTrue(isBuiltinTool(name))
      const definition = builtinToolDefinition(name)
      assert.equal(definition.name, name)
      assert.isString(definition.description)
      assert.equal(definition.parameters?.type, 'object')
      assert.isFalse(definition.parameters?.additionalProperties as boolean)
      assert.isArray(definition.parameters?.required)
      assert.isObject(definition.parameters?.properties)
    }
    assert.deepEqual(builtinToolDefinition('http_request').parameters?.required, ['url'])
    assert.isFalse(isBuiltinTool('eval'))
    assert.isFalse(isBuiltinTool('__proto__'))
  })

  test('invalid arguments come back as errors for the model, never as exceptions', async ({
    assert,
  }) => {
    const cases: [BuiltinToolName, string, RegExp][] = [
      ['calculator', '{"expression": ', /not valid JSON/],
      ['calculator', '[1, 2]', /must be a JSON object, not an array/],
      ['calculator', 'null', /must be a JSON object, not null/],
      ['calculator', '{}', /Missing required argument "expression"/],
      ['calculator', '{"expression": 42}', /"expression" must be a string, not a number/],
      ['calculator', '{"expression": "1", "mode": "x"}', /Unknown argument "mode"/],
      ['http_request', '{"method": "GET"}', /Missing required argument "url"/],
      ['http_request', '{"url": "http://a.test/", "verb": "GET"}', /Unknown argument "verb"/],
      ['http_request', '{"url": "http://a.test/", "method": "DELETE"}', /one of GET, POST/],
      ['http_request', '{"url": "http://a.test/", "method": "get"}', /one of GET, POST/],
      ['http_request', '{"url": "http://a.test/", "headers": "x"}', /must be an object/],
      [
        'http_request',
        '{"url": "http://a.test/", "headers": {"a": 1}}',
        /"headers.a" must be a string/,
      ],
      ['current_time', '{"zone": "UTC"}', /Unknown argument "zone".*time_zone/],
      ['current_time', '{"__proto__": {"x": 1}}', /Unknown argument "__proto__"/],
    ]
    for (const [name, text, message] of cases) {
      const result = await runBuiltinTool(name, text, context())
      assert.isFalse(result.ok, text)
      if (!result.ok) assert.match(result.error, message, text)
    }
  })

  test('arguments over 64 KB are refused before parsing', async ({ assert }) => {
    const result = await run('calculator', { expression: '1+'.repeat(40_000) + '1' })
    assert.deepEqual(result, { ok: false, error: 'The arguments exceed 64 KB.' })
  })

  test('empty arguments mean no arguments (for tools whose arguments are optional)', async ({
    assert,
  }) => {
    const result = await runBuiltinTool('current_time', '', context())
    assert.isTrue(result.ok)
  })

  test('an unknown tool name is an error result, not an exception', async ({ assert }) => {
    const result = await runBuiltinTool('rm_rf' as BuiltinToolName, '{}', context())
    assert.isFalse(result.ok)
  })
})

test.group('agents / tools: calculator', () => {
  test('precedence and associativity follow arithmetic', async ({ assert }) => {
    assert.equal(await calc('1 + 2 * 3'), 7)
    assert.equal(await calc('(1 + 2) * 3'), 9)
    assert.equal(await calc('10 - 4 - 3'), 3)
    assert.equal(await calc('100 / 10 / 5'), 2)
    assert.equal(await calc('2 ^ 3 ^ 2'), 512)
    assert.equal(await calc('-2 ^ 2'), -4)
    assert.equal(await calc('(-2) ^ 2'), 4)
    assert.equal(await calc('2 ^ -1'), 0.5)
    assert.equal(await calc('--3'), 3)
    assert.equal(await calc('+3 - -3'), 6)
    assert.equal(await calc('7 % 4 * 2'), 6)
    assert.equal(await calc('2 * 3 ^ 2'), 18)
  })

  test('numbers: decimals and exponent notation; binary noise is rounded away', async ({
    assert,
  }) => {
    assert.equal(await calc('1.5 + .5'), 2)
    assert.equal(await calc('2.'), 2)
    assert.equal(await calc('1e3 + 2.5E-1'), 1000.25)
    assert.equal(await calc('0.1 + 0.2'), 0.3)
    assert.equal(await calc('2 ^ 53'), 9007199254740992)
    assert.equal(Object.is(await calc('-0'), 0), true)
  })

  test('functions and constants', async ({ assert }) => {
    assert.equal(await calc('sqrt(16)'), 4)
    assert.equal(await calc('abs(-3.5)'), 3.5)
    assert.equal(await calc('round(2.5) + round(-2.5)'), 0)
    assert.equal(await calc('round(3.14159, 2)'), 3.14)
    assert.equal(await calc('floor(-1.5)'), -2)
    assert.equal(await calc('ceil(1.2)'), 2)
    assert.equal(await calc('min(3, 1, 2)'), 1)
    assert.equal(await calc('max(3, 1 + 9, 2)'), 10)
    assert.equal(await calc('log(e)'), 1)
    assert.equal(await calc('log10(1000)'), 3)
    assert.equal(await calc('exp(0)'), 1)
    assert.equal(await calc('sin(pi / 2)'), 1)
    assert.equal(await calc('cos(0)'), 1)
    assert.closeTo(await calc('tan(pi / 4)'), 1, 1e-12)
    assert.equal(await calc('PI'), await calc('pi'))
    assert.equal(await calc('sqrt(max(9, 16)) * 2'), 8)
  })

  test('errors say what is wrong: division by zero, non-finite results, syntax with position', async ({
    assert,
  }) => {
    assert.match(await calcError('1 / 0'), /Division by zero/)
    assert.match(await calcError('5 % (2 - 2)'), /Modulo by zero/)
    assert.match(await calcError('0 ^ -1'), /Division by zero/)
    assert.match(await calcError('sqrt(-1)'), /sqrt\(-1\) is not a finite number/)
    assert.match(await calcError('log(0)'), /not a finite number/)
    assert.match(await calcError('10 ^ 400'), /not a finite number/)
    assert.match(await calcError('1e400'), /not a finite number/)
    assert.match(await calcError('1 +'), /position 4: unexpected the end of the expression/)
    assert.match(await calcError('(1 + 2'), /position 7: expected "\)"/)
    assert.match(await calcError('1 2'), /position 3: unexpected "2"/)
    assert.match(await calcError('2 ** 3'), /use \^ for powers/)
    assert.match(await calcError('sqrt 4'), /sqrt must be followed by "\("/)
    assert.match(await calcError('sqrt(1, 2)'), /sqrt\(\) takes 1 argument/)
    assert.match(await calcError('min()'), /min\(\) takes at least 1 argument/)
    assert.match(await calcError('   '), /empty/)
    assert.match(await calcError('x + 1'), /Unknown identifier "x" at position 1/)
  })

  test('nothing outside the grammar can run: names, properties and calls are refused', async ({
    assert,
  }) => {
    for (const expression of [
      'constructor',
      '__proto__',
      'process.exit(1)',
      'globalThis',
      'this',
      'Math.PI',
      'toString()',
      'hasOwnProperty("e")',
      'sqrt.constructor("return process")()',
      '[1][0]',
      '"1"',
      '1; process.exit(1)',
      'require("fs")',
      'e()',
      'pi(1)',
    ]) {
      const result = await run('calculator', { expression })
      assert.isFalse(result.ok, expression)
    }
    assert.match(await calcError('process.exit(1)'), /Unknown identifier "process"/)
    assert.match(await calcError('constructor'), /Unknown identifier "constructor"/)
  })

  test('length and nesting are limited', async ({ assert }) => {
    assert.match(await calcError('1+'.repeat(500) + '1'), /longer than 1000 characters/)
    assert.equal(await calc('('.repeat(64) + '1' + ')'.repeat(64)), 1)
    assert.match(await calcError('('.repeat(65) + '1' + ')'.repeat(65)), /nested too deeply/)
    assert.match(await calcError('-'.repeat(200) + '1'), /nested too deeply/)
    assert.match(await calcError('2^'.repeat(100) + '1'), /nested too deeply/)
    assert.equal(calculate('1+1').result, 2)
  })
})

test.group('agents / tools: current_time', () => {
  const now = DateTime.fromISO('2026-03-10T12:00:00+00:00')

  test('the time in a named zone, with weekday and unix seconds', ({ assert }) => {
    assert.deepEqual(currentTime('Asia/Tokyo', { timeZone: 'UTC' }, now), {
      iso: '2026-03-10T21:00:00+09:00',
      time_zone: 'Asia/Tokyo',
      weekday: 'Tuesday',
      unix: 1773144000,
    })
    assert.equal(
      currentTime('america/new_york', { timeZone: 'UTC' }, now).time_zone,
      'America/New_York'
    )
    assert.equal(
      currentTime('UTC', { timeZone: 'Asia/Tokyo' }, now).iso,
      '2026-03-10T12:00:00+00:00'
    )
  })

  test("without a zone it uses the workspace's time zone", async ({ assert }) => {
    assert.equal(currentTime(undefined, { timeZone: 'Pacific/Auckland' }, now).weekday, 'Wednesday')
    const result = await run('current_time', {}, { timeZone: 'Europe/Paris' })
    assert.isTrue(result.ok)
    if (!result.ok) return
    const output = result.output as { time_zone: string; unix: number; iso: string }
    assert.equal(output.time_zone, 'Europe/Paris')
    assert.closeTo(output.unix, Date.now() / 1000, 5)
    assert.match(output.iso, /[+-]0[12]:00$/)
  })

  test('an unknown zone (or a non-IANA one such as "local") is an error', async ({ assert }) => {
    for (const time_zone of ['Mars/Olympus_Mons', 'local', 'system', 'UTC+3', 'Europe/']) {
      const result = await run('current_time', { time_zone })
      assert.isFalse(result.ok, time_zone)
      if (!result.ok) assert.match(result.error, /Unknown time zone/)
    }
  })
})

test.group('agents / tools: http_request', (group) => {
  let base = ''
  let port = 0
  let lastRequest: { method?: string; headers: http.IncomingHttpHeaders; body: string } | null =
    null

  group.setup(async () => {
    const server = http.createServer((request, response) => {
      const chunks: Buffer[] = []
      request.on('data', (chunk) => chunks.push(chunk))
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8')
        lastRequest = { method: request.method, headers: request.headers, body }
        const path = new URL(request.url!, 'http://x').pathname
        const redirect = (status: number, location: string) =>
          response.writeHead(status, { location }).end()
        switch (path) {
          case '/hello':
            return response
              .writeHead(200, { 'content-type': 'text/plain; charset=utf-8' })
              .end('héllo')
          case '/echo':
            return response
              .writeHead(201, { 'content-type': 'application/json' })
              .end(JSON.stringify({ method: request.method, headers: request.headers, body }))
          case '/big':
            return response.writeHead(200).end('é'.repeat(150 * 1024)) // 300 KB
          case '/exact':
            return response.writeHead(200).end('x'.repeat(256 * 1024))
          case '/gzip':
            return response
              .writeHead(200, { 'content-encoding': 'gzip' })
              .end(gzipSync('zipped '.repeat(100)))
          case '/silent':
            return // never answers
          case '/hang':
            return response.writeHead(200).write('partial') // never ends
          case '/status':
            return response.writeHead(404, { 'content-type': 'text/plain' }).end('nope')
          case '/to-echo':
            return redirect(302, '/echo')
          case '/to-echo-303':
            return redirect(303, '/echo')
          case '/to-echo-307':
            return redirect(307, '/echo')
          case '/to-outside':
            return redirect(302, 'http://not-allowed.test/')
          case '/to-metadata':
            return redirect(302, 'http://169.254.169.254/latest/meta-data/')
          case '/to-file':
            return redirect(302, 'file:///etc/passwd')
          case '/loop':
            return redirect(302, '/loop')
          default:
            return response.writeHead(404).end()
        }
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as { port: number }).port
    base = `http://127.0.0.1:${port}`
    return () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  })

  const local = () => ({ allowedHosts: [`127.0.0.1:${port}`] })

  async function request(args: Record<string, unknown>, overrides: Partial<ToolContext> = {}) {
    return run('http_request', args, { ...local(), ...overrides })
  }

  function output(result: Awaited<ReturnType<typeof request>>) {
    if (!result.ok) throw new Error(result.error)
    return result.output as {
      status: number
      content_type: string
      body: string
      truncated: boolean
    }
  }

  function error(result: Awaited<ReturnType<typeof request>>) {
    if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.output)}`)
    return result.error
  }

  test('loopback is refused by default, even when the host is on the allow-list', async ({
    assert,
  }) => {
    await withEnv(PRIVATE_OFF, async () => {
      const message = error(await request({ url: `${base}/hello` }))
      assert.match(message, /"127\.0\.0\.1" is a private address/)
      assert.isNull(lastRequest)
      assert.match(
        error(
          await request(
            { url: `http://[::ffff:127.0.0.1]:${port}/hello` },
            { allowedHosts: ['[::ffff:7f00:1]'] }
          )
        ),
        /private address/
      )
    })
  })

  test('with the admin switch on and the host allow-listed, a GET returns status, type and body', async ({
    assert,
  }) => {
    await withEnv(PRIVATE_ON, async () => {
      assert.deepEqual(output(await request({ url: `${base}/hello` })), {
        status: 200,
        content_type: 'text/plain; charset=utf-8',
        body: 'héllo',
        truncated: false,
      })
      assert.equal(lastRequest?.method, 'GET')
      assert.deepInclude(output(await request({ url: `${base}/status` })), {
        status: 404,
        body: 'nope',
      })
      assert.equal(output(await request({ url: `${base}/gzip` })).body, 'zipped '.repeat(100))
    })
  })

  test('a POST sends its body and headers, without Host-like, hop-by-hop or cookie headers', async ({
    assert,
  }) => {
    await withEnv(PRIVATE_ON, async () => {
      const result = output(
        await request({
          method: 'POST',
          url: `${base}/echo`,
          headers: {
            'Content-Type': 'application/json',
            'X-Token': 'abc',
            'Cookie': 'session=secret',
            'Connection': 'keep-alive, X-Drop-Me',
            'X-Drop-Me': '1',
            'Transfer-Encoding': 'chunked',
            'Upgrade': 'websocket',
            'Proxy-Authorization': 'Basic x',
          },
          body: '{"a":1}',
        })
      )
      assert.equal(result.status, 201)
      const echoed = JSON.parse(result.body)
      assert.equal(echoed.method, 'POST')
      assert.equal(echoed.body, '{"a":1}')
      assert.equal(echoed.headers['content-type'], 'application/json')
      assert.equal(echoed.headers['x-token'], 'abc')
      assert.equal(echoed.headers['content-length'], '7')
      for (const header of [
        'cookie',
        'x-drop-me',
        'transfer-encoding',
        'upgrade',
        'proxy-authorization',
      ])
        assert.notProperty(echoed.headers, header)
      assert.equal(echoed.headers.host, `127.0.0.1:${port}`)
    })
  })

  test('request shape is checked: Host header, body size, GET with a body, schemes, credentials', async ({
    assert,
  }) => {
    await withEnv(PRIVATE_ON, async () => {
      assert.match(
        error(await request({ url: `${base}/echo`, headers: { HOST: 'evil.test' } })),
        /Host header/
      )
      // The arguments limit usually comes first; the body limit holds for direct callers too.
      const post = { method: 'POST' as const, url: `${base}/echo`, body: 'é'.repeat(32 * 1024 + 1) }
      assert.match(error(await request(post)), /arguments exceed 64 KB/)
      await assert.rejects(() => httpRequest(post, context(local())), /larger than 64 KB/)
      assert.match(
        error(await request({ url: `${base}/echo`, body: 'x' })),
        /GET request cannot have a body/
      )
      assert.match(
        error(await request({ url: `${base}/echo`, headers: { 'X-A': 'a\r\nX-B: b' } })),
        /invalid character/
      )
      assert.match(
        error(await request({ url: `${base}/echo`, headers: { 'Bad Name': 'a' } })),
        /not a valid header name/
      )
      assert.match(error(await request({ url: 'ftp://127.0.0.1/' })), /Only http/)
      assert.match(error(await request({ url: 'file:///etc/passwd' })), /Only http/)
      assert.match(error(await request({ url: '/relative' })), /not a valid absolute URL/)
      assert.match(
        error(await request({ url: `http://user:pw@127.0.0.1:${port}/` })),
        /Credentials/
      )
    })
  })

  test('a host not on the allow-list is refused; an empty allow-list asks for an admin', async ({
    assert,
  }) => {
    await withEnv(PRIVATE_ON, async () => {
      assert.match(
        error(await request({ url: `${base}/hello` }, { allowedHosts: ['example.com'] })),
        /"127\.0\.0\.1:\d+" is not on this workspace's allow-list/
      )
      assert.match(
        error(await request({ url: `${base}/hello` }, { allowedHosts: [`127.0.0.1:${port + 1}`] })),
        /not on this workspace's allow-list/
      )
      assert.match(
        error(await request({ url: `${base}/hello` }, { allowedHosts: [] })),
        /no allowed hosts in this workspace.*admin must add/
      )
      assert.equal(
        output(await request({ url: `${base}/hello` }, { allowedHosts: ['127.0.0.1'] })).status,
        200
      )
    })
  })

  test('allow-list entries: case-insensitive hosts, *. for subdomains, optional port', ({
    assert,
  }) => {
    const allowed = (url: string, entries: string[]) => hostAllowed(new URL(url), entries)
    assert.isTrue(allowed('https://API.Example.com/x', ['api.example.COM']))
    assert.isTrue(allowed('https://api.example.com./x', ['api.example.com']))
    assert.isTrue(allowed('https://a.b.example.com/', ['*.example.com']))
    assert.isFalse(allowed('https://example.com/', ['*.example.com']))
    assert.isFalse(allowed('https://evilexample.com/', ['*.example.com']))
    assert.isFalse(allowed('https://example.com.evil.test/', ['example.com']))
    assert.isTrue(allowed('https://example.com:8443/', ['example.com']))
    assert.isTrue(allowed('https://example.com:8443/', ['example.com:8443']))
    assert.isFalse(allowed('https://example.com/', ['example.com:8443']))
    assert.isTrue(allowed('https://example.com/', ['example.com:443']))
    assert.isTrue(allowed('http://example.com/', ['https://example.com/docs']))
    assert.isTrue(allowed('http://[::1]:8080/', ['[::1]:8080']))
    assert.isTrue(allowed('http://xn--bcher-kva.example/', ['bücher.example']))
    assert.isFalse(allowed('http://example.com/', ['', '  ', ':80', '*.']))
  })

  test('a host name whose DNS answer is loopback is refused after resolution', async ({
    assert,
  }) => {
    await withEnv(PRIVATE_OFF, async () => {
      const message = error(
        await request({ url: `http://localhost:${port}/hello` }, { allowedHosts: ['localhost'] })
      )
      assert.match(message, /"localhost" resolves to a private address \((127\.0\.0\.1|::1)\)/)
      assert.isNull(lastRequest)
    })
  }).setup(() => {
    lastRequest = null
  })

  test('cloud metadata addresses are refused, with or without the private-network switch', async ({
    assert,
  }) => {
    const url = 'http://169.254.169.254/latest/meta-data/'
    const allowedHosts = ['169.254.169.254', '[fd00:ec2::254]']
    await withEnv(PRIVATE_OFF, async () => {
      assert.match(error(await request({ url }, { allowedHosts })), /cloud metadata address/)
      assert.match(
        error(await request({ url: 'http://169.254.170.2/' }, { allowedHosts: ['169.254.170.2'] })),
        /private address/
      )
    })
    await withEnv(PRIVATE_ON, async () => {
      assert.match(error(await request({ url }, { allowedHosts })), /cloud metadata address/)
      assert.match(
        error(await request({ url: 'http://[fd00:ec2::254]/' }, { allowedHosts })),
        /cloud metadata/
      )
      assert.match(
        error(
          await request(
            { url: `${base}/to-metadata` },
            { allowedHosts: [...allowedHosts, `127.0.0.1:${port}`] }
          )
        ),
        /cloud metadata address.*redirect to http:\/\/169\.254\.169\.254\//
      )
    })
  })

  // (A redirect into a private range is the metadata case above: with the switch off, the local
  // test server itself is unreachable.)
  test('every redirect is re-checked: allow-list and scheme', async ({ assert }) => {
    await withEnv(PRIVATE_ON, async () => {
      assert.match(
        error(await request({ url: `${base}/to-outside` })),
        /"not-allowed\.test" is not on this workspace's allow-list.*redirect to http:\/\/not-allowed\.test\//
      )
      assert.match(error(await request({ url: `${base}/to-file` })), /Only http/)
    })
  })

  test('redirects: 302 after POST and 303 become GET without a body; 307 keeps both; at most 3', async ({
    assert,
  }) => {
    await withEnv(PRIVATE_ON, async () => {
      const post = { method: 'POST', body: 'payload', headers: { 'content-type': 'text/plain' } }
      for (const path of ['/to-echo', '/to-echo-303']) {
        const echoed = JSON.parse(output(await request({ ...post, url: `${base}${path}` })).body)
        assert.equal(echoed.method, 'GET', path)
        assert.equal(echoed.body, '', path)
        assert.notProperty(echoed.headers, 'content-type')
      }
      const kept = JSON.parse(output(await request({ ...post, url: `${base}/to-echo-307` })).body)
      assert.equal(kept.method, 'POST')
      assert.equal(kept.body, 'payload')
      assert.equal(JSON.parse(output(await request({ url: `${base}/to-echo` })).body).method, 'GET')
      assert.match(
        error(await request({ url: `${base}/loop` })),
        /Too many redirects \(more than 3\)/
      )
    })
  })

  test('a response over 256 KB is cut and marked truncated (never mid-character)', async ({
    assert,
  }) => {
    await withEnv(PRIVATE_ON, async () => {
      const big = output(await request({ url: `${base}/big` }))
      assert.isTrue(big.truncated)
      assert.equal(big.body, 'é'.repeat(128 * 1024))
      const exact = output(await request({ url: `${base}/exact` }))
      assert.isFalse(exact.truncated)
      assert.lengthOf(exact.body, 256 * 1024)
    })
  })

  test('a server that never finishes answering times out; cancelling the run ends the request', async ({
    assert,
  }) => {
    await withEnv({ ...PRIVATE_ON, TOOLS_HTTP_TIMEOUT_MS: '200' }, async () => {
      const started = Date.now()
      assert.match(error(await request({ url: `${base}/silent` })), /timed out after 200 ms/)
      assert.match(error(await request({ url: `${base}/hang` })), /timed out after 200 ms/)
      assert.isBelow(Date.now() - started, 2000)
    })
    await withEnv(PRIVATE_ON, async () => {
      const controller = new AbortController()
      setTimeout(() => controller.abort(), 100)
      const started = Date.now()
      const result = await request({ url: `${base}/hang` }, { signal: controller.signal })
      assert.match(error(result), /cancelled/)
      assert.isBelow(Date.now() - started, 2000)
    })
  })

  test('network failures are reported plainly', async ({ assert }) => {
    await withEnv(PRIVATE_ON, async () => {
      const closed = await new Promise<number>((resolve) => {
        const probe = http.createServer().listen(0, '127.0.0.1', () => {
          const { port: free } = probe.address() as { port: number }
          probe.close(() => resolve(free))
        })
      })
      assert.match(
        error(
          await request({ url: `http://127.0.0.1:${closed}/` }, { allowedHosts: ['127.0.0.1'] })
        ),
        /refused the connection/
      )
      assert.match(
        error(
          await request({ url: 'http://no-such-host.invalid/' }, { allowedHosts: ['*.invalid'] })
        ),
        /Could not resolve the host "no-such-host\.invalid"/
      )
    })
  })
})
