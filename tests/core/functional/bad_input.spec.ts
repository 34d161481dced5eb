import { test } from '@japa/runner'
import { randomUUID } from 'node:crypto'
import type { ApiResponse } from '@japa/api-client'
import router from '@adonisjs/core/services/router'
import db from '@adonisjs/lucid/services/db'
import { Session, signedIn } from '#tests/helpers/session'
import { uniqueEmail, strongPassword } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

/*
 * Bad input at the edge (issue 12): a NUL byte or an unpaired surrogate in any string, a
 * malformed id, a forged cursor, an absurd date, a mistyped number or a bad Idempotency-Key is
 * refused — 422 naming the field (404 for an id in the path) — and never reaches SQL (it used
 * to answer 500). Each case also checks that nothing was written.
 */

const NUL = '\u0000'
const LONE_HIGH = '\uD800'
const LONE_LOW = '\uDC00'
const echo = { name: 'Echo', slug: 'echo', instructions: 'Repeat.', model: 'simulator/echo' }
const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** A problem document refusing exactly `field` with `status`. */
function assertRefused(response: ApiResponse, status: number, field: string | null, assert: any) {
  assert.equal(
    response.status(),
    status,
    `${status} expected, got ${response.status()}: ${response.text().slice(0, 300)}`
  )
  assert.include(response.header('content-type') ?? '', 'application/problem+json')
  if (field !== null)
    assert.deepInclude(
      response.body().errors.map((e: { field: string }) => e.field),
      field
    )
}

/** An OpenAI-shaped refusal (the OpenAI-compatible endpoint keeps OpenAI's error body). */
function assertOpenAiRefused(response: ApiResponse, param: string | null, assert: any) {
  assert.equal(response.status(), 422, response.text().slice(0, 300))
  assert.equal(response.body().error.type, 'invalid_request_error')
  assert.equal(response.header('x-should-retry'), 'false')
  if (param !== null) assert.equal(response.body().error.param, param)
}

/** What a tenant has written: agents, versions, runs, threads, holds and idempotency keys. */
async function footprint(tenantId: string) {
  const count = async (table: string) =>
    Number((await db.from(table).where('tenant_id', tenantId).count('* as n'))[0].n)
  return {
    agents: await count('agents'),
    versions: await count('agent_versions'),
    runs: await count('runs'),
    threads: await count('threads'),
    holds: await count('credit_holds'),
    keys: await count('idempotency_keys'),
  }
}

/** A workspace with the echo agent and a token; `unchanged()` asserts nothing more was written. */
async function world(assert: any, client: any) {
  const workspace = await WorkspaceFactory.create({ grant: 1_000_000_000n, token: true })
  ;(await client.post('/api/v1/agents').bearerToken(workspace.token).json(echo)).assertStatus(201)
  const before = await footprint(workspace.tenant.id)
  return {
    ...workspace,
    unchanged: async () => assert.deepEqual(await footprint(workspace.tenant.id), before),
  }
}

test.group(
  'core / bad input: NUL bytes and unpaired surrogates are refused at the edge (API)',
  () => {
    test('a NUL in an agent name → 422 name; no agent written', async ({ client, assert }) => {
      const { token, unchanged } = await world(assert, client)
      const response = await client
        .post('/api/v1/agents')
        .bearerToken(token)
        .json({ ...echo, slug: 'nul', name: `Ec${NUL}ho` })
      assertRefused(response, 422, 'name', assert)
      await unchanged()
    })

    test('an unpaired high surrogate in instructions → 422 instructions', async ({
      client,
      assert,
    }) => {
      const { token, unchanged } = await world(assert, client)
      const response = await client
        .post('/api/v1/agents')
        .bearerToken(token)
        .json({ ...echo, slug: 'sur', instructions: `Repeat ${LONE_HIGH}.` })
      assertRefused(response, 422, 'instructions', assert)
      await unchanged()
    })

    test('a NUL in a nested metadata value → 422 naming its path', async ({ client, assert }) => {
      const { token, unchanged } = await world(assert, client)
      const response = await client
        .post('/api/v1/agents')
        .bearerToken(token)
        .json({ ...echo, slug: 'meta', metadata: { foo: { bar: `x${NUL}` } } })
      assertRefused(response, 422, 'metadata.foo.bar', assert)
      await unchanged()
    })

    test('a NUL in a metadata KEY → 422 naming the key (made printable)', async ({
      client,
      assert,
    }) => {
      const { token, unchanged } = await world(assert, client)
      const response = await client
        .post('/api/v1/agents')
        .bearerToken(token)
        .json({ ...echo, slug: 'key', metadata: { [`f${NUL}o`]: 'x' } })
      assertRefused(response, 422, 'metadata.f\uFFFDo', assert)
      await unchanged()
    })

    test('an unpaired low surrogate in a PATCH → 422 name; no new version', async ({
      client,
      assert,
    }) => {
      const { token, unchanged } = await world(assert, client)
      const response = await client
        .patch('/api/v1/agents/echo')
        .bearerToken(token)
        .json({ name: `x${LONE_LOW}y` })
      assertRefused(response, 422, 'name', assert)
      await unchanged()
      assert.equal((await client.get('/api/v1/agents/echo').bearerToken(token)).body().name, 'Echo')
    })

    test('a well-formed surrogate pair (an emoji) is accepted', async ({ client, assert }) => {
      const { token } = await world(assert, client)
      const response = await client
        .post('/api/v1/agents')
        .bearerToken(token)
        .json({ ...echo, slug: 'emoji', name: 'Echo 😀', metadata: { 'ключ 😀': 'значение' } })
      response.assertStatus(201)
      assert.equal(response.body().name, 'Echo 😀')
    })

    test('a NUL in a run input → 422 input; no run, no hold, no thread', async ({
      client,
      assert,
    }) => {
      const { token, unchanged } = await world(assert, client)
      const response = await client
        .post('/api/v1/agents/echo/runs')
        .bearerToken(token)
        .json({ input: `hello${NUL}` })
      assertRefused(response, 422, 'input', assert)
      await unchanged()
    })

    test('an unpaired surrogate in a run input (SSE requested) → 422 input before any stream opens', async ({
      client,
      assert,
    }) => {
      const { token, unchanged } = await world(assert, client)
      const response = await client
        .post('/api/v1/agents/echo/runs')
        .bearerToken(token)
        .header('accept', 'text/event-stream')
        .json({ input: `hi ${LONE_LOW}` })
      assertRefused(response, 422, 'input', assert)
      await unchanged()
    })

    test('a NUL inside an array in run metadata → 422 naming the index', async ({
      client,
      assert,
    }) => {
      const { token, unchanged } = await world(assert, client)
      const response = await client
        .post('/api/v1/agents/echo/runs')
        .bearerToken(token)
        .json({ input: 'hi', metadata: { tags: ['ok', `b${NUL}d`] } })
      assertRefused(response, 422, 'metadata.tags.1', assert)
      await unchanged()
    })

    test('a NUL in a thread title → 422 title; no thread', async ({ client, assert }) => {
      const { token, unchanged } = await world(assert, client)
      const response = await client
        .post('/api/v1/threads')
        .bearerToken(token)
        .json({ title: `T${NUL}` })
      assertRefused(response, 422, 'title', assert)
      await unchanged()
    })

    test('%00 in a slug path → 422 naming the route parameter; no run', async ({
      client,
      assert,
    }) => {
      const { token, unchanged } = await world(assert, client)
      assertRefused(
        await client.get('/api/v1/agents/ec%00ho').bearerToken(token),
        422,
        'idOrSlug',
        assert
      )
      assertRefused(
        await client.post('/api/v1/agents/ec%00ho/runs').bearerToken(token).json({ input: 'hi' }),
        422,
        'idOrSlug',
        assert
      )
      await unchanged()
    })

    test('a NUL in a query-string value or key, at any depth → 422 naming it', async ({
      client,
      assert,
    }) => {
      const { token } = await world(assert, client)
      assertRefused(
        await client.get('/api/v1/runs?agent=ec%00ho').bearerToken(token),
        422,
        'agent',
        assert
      )
      assertRefused(
        await client.get('/api/v1/agents?a%00b=1').bearerToken(token),
        422,
        'a\uFFFDb',
        assert
      )
      assertRefused(
        await client.get('/api/v1/runs?filter[x]=%00').bearerToken(token),
        422,
        'filter.x',
        assert
      )
    })

    test('JSON nested deeper than 64 levels → 422 (later recursive walks never overflow)', async ({
      client,
      assert,
    }) => {
      const { token, unchanged } = await world(assert, client)
      const deep = '{"a":'.repeat(200) + '1' + '}'.repeat(200)
      const response = await client
        .post('/api/v1/agents/echo/runs')
        .bearerToken(token)
        .unsafeJson(`{"input":"hi","metadata":${deep}}`)
      assertRefused(response, 422, null, assert)
      assert.match(response.body().errors[0].field, /^metadata(\.a)+$/)
      await unchanged()
    })
  }
)

test.group('core / bad input: ids, cursors and dates are checked before SQL (API)', () => {
  test('a non-UUID thread_id → 422 thread_id; no run', async ({ client, assert }) => {
    const { token, unchanged } = await world(assert, client)
    assertRefused(
      await client
        .post('/api/v1/agents/echo/runs')
        .bearerToken(token)
        .json({ input: 'hi', thread_id: 'not-a-uuid' }),
      422,
      'thread_id',
      assert
    )
    assertRefused(
      await client
        .post('/api/v1/agents/echo/runs')
        .bearerToken(token)
        .json({ input: 'hi', thread_id: "1' OR '1'='1" }),
      422,
      'thread_id',
      assert
    )
    await unchanged()
  })

  test('a UUID thread_id of no thread here → 422 thread_id; no run', async ({ client, assert }) => {
    const { token, unchanged } = await world(assert, client)
    assertRefused(
      await client
        .post('/api/v1/agents/echo/runs')
        .bearerToken(token)
        .json({ input: 'hi', thread_id: randomUUID() }),
      422,
      'thread_id',
      assert
    )
    await unchanged()
  })

  test('malformed ids in API paths → 404, never 500', async ({ client, assert }) => {
    const { token, unchanged } = await world(assert, client)
    for (const id of ['not-a-uuid', '1', `${randomUUID()}x`, "1'--", '-1e308']) {
      const path = encodeURIComponent(id)
      assertRefused(await client.get(`/api/v1/runs/${path}`).bearerToken(token), 404, null, assert)
      assertRefused(
        await client.get(`/api/v1/runs/${path}/events`).bearerToken(token),
        404,
        null,
        assert
      )
      assertRefused(
        await client.post(`/api/v1/runs/${path}/cancellation`).bearerToken(token),
        404,
        null,
        assert
      )
      assertRefused(
        await client.get(`/api/v1/threads/${path}`).bearerToken(token),
        404,
        null,
        assert
      )
      assertRefused(
        await client.get(`/api/v1/agents/${path}`).bearerToken(token),
        404,
        null,
        assert
      )
    }
    await unchanged()
  })

  test('a forged cursor (id not a UUID) → 422 cursor on every list', async ({ client, assert }) => {
    const { token } = await world(assert, client)
    const forged = cursorOf({ at: '2026-01-01T00:00:00.000Z', id: "x' OR 1=1 --" })
    for (const list of ['/api/v1/agents', '/api/v1/runs', '/api/v1/threads']) {
      assertRefused(
        await client.get(list).qs({ cursor: forged }).bearerToken(token),
        422,
        'cursor',
        assert
      )
    }
  })

  test('a forged cursor with an absurd or non-ISO instant → 422 cursor', async ({
    client,
    assert,
  }) => {
    const { token } = await world(assert, client)
    const id = randomUUID()
    for (const at of [
      '+275760-09-13T00:00:00.000Z',
      '-271821-04-20T00:00:00.000Z',
      '0001-01-01T00:00:00.000Z',
      'Tuesday',
      '2026-02-30T00:00:00.000Z',
    ]) {
      assertRefused(
        await client
          .get('/api/v1/runs')
          .qs({ cursor: cursorOf({ at, id }) })
          .bearerToken(token),
        422,
        'cursor',
        assert
      )
    }
    assertRefused(
      await client.get('/api/v1/runs').qs({ cursor: 'not base64 json' }).bearerToken(token),
      422,
      'cursor',
      assert
    )
    // A real cursor still pages.
    ;(
      await client
        .get('/api/v1/agents')
        .qs({ cursor: cursorOf({ at: '2026-01-01T00:00:00.000Z', id }) })
        .bearerToken(token)
    ).assertStatus(200)
  })

  test('runs from/to out of range or not ISO 8601 → 422 naming the field; sane dates still filter', async ({
    client,
    assert,
  }) => {
    const { token } = await world(assert, client)
    assertRefused(
      await client.get('/api/v1/runs?from=-271821-04-20').bearerToken(token),
      422,
      'from',
      assert
    )
    assertRefused(
      await client.get('/api/v1/runs?to=99999-01-01').bearerToken(token),
      422,
      'to',
      assert
    )
    assertRefused(
      await client.get('/api/v1/runs?from=1999-12-31').bearerToken(token),
      422,
      'from',
      assert
    )
    assertRefused(
      await client.get('/api/v1/runs?from=yesterday').bearerToken(token),
      422,
      'from',
      assert
    )
    ;(
      await client
        .get('/api/v1/runs?from=2024-01-01&to=2024-02-01T10:00:00%2B02:00')
        .bearerToken(token)
    ).assertStatus(200)
  })

  test('analytics and ledger from/to outside years 2000–9999 → 422 naming the field', async ({
    client,
    assert,
  }) => {
    const { token } = await world(assert, client)
    assertRefused(
      await client.get('/api/v1/analytics/usage?from=-271821-04-20').bearerToken(token),
      422,
      'from',
      assert
    )
    assertRefused(
      await client.get('/api/v1/analytics/usage?from=0001-01-01&to=0001-01-02').bearerToken(token),
      422,
      'from',
      assert
    )
    assertRefused(
      await client.get('/api/v1/analytics/usage?from=2026-01-01&to=99999-01-01').bearerToken(token),
      422,
      'to',
      assert
    )
    assertRefused(
      await client.get('/api/v1/credits/ledger?from=0001-01-01').bearerToken(token),
      422,
      'from',
      assert
    )
    ;(
      await client.get('/api/v1/analytics/usage?from=2026-01-01&to=2026-01-02').bearerToken(token)
    ).assertStatus(200)
  })
})

test.group('core / bad input: strict types and Idempotency-Key (API)', () => {
  const chat = { model: 'simulator/echo', messages: [{ role: 'user', content: 'hi' }] }

  test('chat completions: max_tokens true, "5", 1.5, -1 or huge → 422 max_tokens, never coerced; no run', async ({
    client,
    assert,
  }) => {
    const { token, unchanged } = await world(assert, client)
    for (const value of [true, '5', 1.5, -1, 1e9]) {
      assertOpenAiRefused(
        await client
          .post('/api/v1/chat/completions')
          .bearerToken(token)
          .json({ ...chat, max_tokens: value }),
        'max_tokens',
        assert
      )
    }
    await unchanged()
  })

  test('chat completions: temperature "1", stream "true" → 422 naming the field; a real number is fine', async ({
    client,
    assert,
  }) => {
    const { token, unchanged } = await world(assert, client)
    assertOpenAiRefused(
      await client
        .post('/api/v1/chat/completions')
        .bearerToken(token)
        .json({ ...chat, temperature: '1' }),
      'temperature',
      assert
    )
    assertOpenAiRefused(
      await client
        .post('/api/v1/chat/completions')
        .bearerToken(token)
        .json({ ...chat, stream: 'true' }),
      'stream',
      assert
    )
    assertOpenAiRefused(
      await client
        .post('/api/v1/chat/completions')
        .bearerToken(token)
        .json({ ...chat, max_completion_tokens: false }),
      'max_completion_tokens',
      assert
    )
    await unchanged()
    ;(
      await client
        .post('/api/v1/chat/completions')
        .bearerToken(token)
        .json({ ...chat, max_tokens: 5, temperature: 1 })
    ).assertStatus(200)
  })

  test('chat completions: a NUL in a message → 422 in OpenAI shape; no run', async ({
    client,
    assert,
  }) => {
    const { token, unchanged } = await world(assert, client)
    assertOpenAiRefused(
      await client
        .post('/api/v1/chat/completions')
        .bearerToken(token)
        .json({ ...chat, messages: [{ role: 'user', content: `h${NUL}i` }] }),
      null,
      assert
    )
    await unchanged()
  })

  test('agents API: max_tokens true or temperature "1" → 422, never coerced', async ({
    client,
    assert,
  }) => {
    const { token, unchanged } = await world(assert, client)
    assertRefused(
      await client
        .post('/api/v1/agents')
        .bearerToken(token)
        .json({ ...echo, slug: 'typed', max_tokens: true }),
      422,
      'max_tokens',
      assert
    )
    assertRefused(
      await client
        .post('/api/v1/agents')
        .bearerToken(token)
        .json({ ...echo, slug: 'typed', temperature: '1' }),
      422,
      'temperature',
      assert
    )
    assertRefused(
      await client
        .post('/api/v1/agents/echo/runs')
        .bearerToken(token)
        .json({ input: 'hi', async: 1 }),
      422,
      'async',
      assert
    )
    await unchanged()
  })

  test('an Idempotency-Key over 255 characters → 422 on runs and chat completions, never truncated; nothing written', async ({
    client,
    assert,
  }) => {
    const { token, unchanged } = await world(assert, client)
    const long = 'k'.repeat(256)
    assertRefused(
      await client
        .post('/api/v1/agents/echo/runs')
        .bearerToken(token)
        .header('idempotency-key', long)
        .json({ input: 'hi' }),
      422,
      'Idempotency-Key',
      assert
    )
    assertOpenAiRefused(
      await client
        .post('/api/v1/chat/completions')
        .bearerToken(token)
        .header('idempotency-key', long)
        .json(chat),
      null,
      assert
    )
    await unchanged()
  })

  test('an empty Idempotency-Key or one with a control character → 422', async ({
    client,
    assert,
  }) => {
    const { token, unchanged } = await world(assert, client)
    // The test client drops empty headers: fetch sends one.
    const empty = await fetch(
      `http://${process.env.HOST}:${process.env.PORT}/api/v1/agents/echo/runs`,
      {
        method: 'POST',
        headers: {
          'authorization': `Bearer ${token}`,
          'content-type': 'application/json',
          'idempotency-key': '',
        },
        body: JSON.stringify({ input: 'hi' }),
      }
    )
    assert.equal(empty.status, 422)
    assert.include(empty.headers.get('content-type') ?? '', 'application/problem+json')
    assert.deepEqual(
      (await empty.json()).errors.map((e: { field: string }) => e.field),
      ['Idempotency-Key']
    )
    assertRefused(
      await client
        .post('/api/v1/agents/echo/runs')
        .bearerToken(token)
        .header('idempotency-key', 'key\twith-tab')
        .json({ input: 'hi' }),
      422,
      'Idempotency-Key',
      assert
    )
    await unchanged()
  })

  test('an Idempotency-Key of exactly 255 characters works and is stored whole', async ({
    client,
    assert,
  }) => {
    const { token, tenant } = await world(assert, client)
    const key = `${randomUUID()}-`.padEnd(255, 'k')
    const first = await client
      .post('/api/v1/agents/echo/runs')
      .bearerToken(token)
      .header('idempotency-key', key)
      .json({ input: 'hi' })
    first.assertStatus(201)
    const again = await client
      .post('/api/v1/agents/echo/runs')
      .bearerToken(token)
      .header('idempotency-key', key)
      .json({ input: 'hi' })
    assert.equal(again.body().id, first.body().id)
    const stored = await db.from('idempotency_keys').where('tenant_id', tenant.id).select('key')
    assert.deepEqual(
      stored.map((row) => row.key),
      [key]
    )
  })
})

/** Fills a route pattern's parameters (`:tenant` with the workspace slug). */
function fill(pattern: string, tenantSlug: string, value: string) {
  return pattern.replace(/:(\w+)\??/g, (_, name) => (name === 'tenant' ? tenantSlug : value))
}

/** Every registered route with a parameter, once per verb (HEAD comes with GET). */
function routesWithParams() {
  const seen = new Set<string>()
  const routes: { method: string; pattern: string; params: string[] }[] = []
  for (const list of Object.values(router.toJSON())) {
    for (const route of list) {
      const params = [...route.pattern.matchAll(/:(\w+)/g)].map((m) => m[1])
      if (!params.length || route.pattern.includes('__probe')) continue
      for (const method of route.methods.filter((m) => m !== 'HEAD')) {
        if (seen.has(`${method} ${route.pattern}`)) continue
        seen.add(`${method} ${route.pattern}`)
        routes.push({ method, pattern: route.pattern, params })
      }
    }
  }
  return routes
}

test.group('core / bad input: every route with a parameter', () => {
  test('%00 in any route parameter → 422 naming it (problem+json), before auth or any lookup', async ({
    client,
    assert,
  }) => {
    const { token, tenant, owner } = await WorkspaceFactory.create({
      grant: 1_000_000_000n,
      token: true,
    })
    const web = await signedIn(client, owner)
    const routes = routesWithParams()
    assert.isAbove(routes.length, 40)
    for (const route of routes) {
      // The NUL goes into the last parameter; `:tenant` stays valid so the others are reached.
      const target = route.params.at(-1)!
      const url = route.pattern.replace(/:(\w+)\??/g, (_, name) =>
        name === target ? 'x%00y' : name === 'tenant' ? tenant.slug : 'x'
      )
      const response = url.startsWith('/api/')
        ? await client.request(url, route.method).bearerToken(token).redirects(0)
        : route.method === 'GET'
          ? await web.get(url, { accept: 'application/json' })
          : await web.submit(
              route.method === 'POST' ? 'POST' : (route.method as 'PUT' | 'DELETE'),
              url,
              {},
              { accept: 'application/json' }
            )
      assert.equal(
        response.status(),
        422,
        `${route.method} ${route.pattern}: ${response.status()} ${response.text().slice(0, 200)}`
      )
      assert.deepEqual(
        response.body().errors?.map((e: { field: string }) => e.field),
        [target],
        `${route.method} ${route.pattern}`
      )
    }
  })

  test('a malformed id or slug in any route parameter → never 500 (404 for ids of objects)', async ({
    client,
    assert,
  }) => {
    const { token, tenant, owner } = await WorkspaceFactory.create({
      grant: 1_000_000_000n,
      token: true,
    })
    const web = await signedIn(client, owner)
    const objectParams = new Set(['id', 'idOrSlug', 'slug', 'modelId', 'version'])
    for (const route of routesWithParams()) {
      for (const value of ['not-a-uuid', '99999999999999999999', "1'--"]) {
        const url = fill(route.pattern, tenant.slug, encodeURIComponent(value))
        const response = url.startsWith('/api/')
          ? await client.request(url, route.method).bearerToken(token).redirects(0)
          : route.method === 'GET'
            ? await web.get(url, { accept: 'application/json' })
            : await web.submit(
                route.method === 'POST' ? 'POST' : (route.method as 'PUT' | 'DELETE'),
                url,
                {},
                { accept: 'application/json' }
              )
        const label = `${route.method} ${url}: ${response.status()} ${response.text().slice(0, 200)}`
        assert.isBelow(response.status(), 500, label)
        const addressesObject =
          route.params.some((name) => objectParams.has(name)) &&
          !route.pattern.startsWith('/admin/')
        if (addressesObject) assert.equal(response.status(), 404, label)
      }
    }
  })
})

test.group('core / bad input: browser forms are sent back with the field marked', () => {
  test('sign-up with a NUL in the name → back to the form with the name marked; no account', async ({
    client,
    assert,
  }) => {
    const browser = new Session(client)
    await browser.get('/signup')
    const email = uniqueEmail('nul')
    const response = await browser.submit('POST', '/signup', {
      name: `Ada${NUL}`,
      email,
      password: strongPassword(),
    })
    assert.equal(response.status(), 302)
    assert.equal(new URL(response.header('location') ?? '', 'http://x').pathname, '/signup')
    const page = await browser.get('/signup')
    page.assertStatus(200)
    assert.include(page.text(), 'id="field-name-error"')
    assert.include(page.text(), 'NUL')
    assert.lengthOf(await db.from('users').where('email', email), 0)
  })

  test('login with a NUL in the email → back to the form with the email marked, no 500', async ({
    client,
    assert,
  }) => {
    const browser = new Session(client)
    await browser.get('/login')
    const response = await browser.submit('POST', '/login', {
      email: `ada${NUL}@example.test`,
      password: strongPassword(),
    })
    assert.equal(response.status(), 302)
    assert.equal(new URL(response.header('location') ?? '', 'http://x').pathname, '/login')
    const page = await browser.get('/login')
    page.assertStatus(200)
    assert.include(page.text(), 'id="field-email-error"')
    assert.include(page.text(), 'NUL')
  })

  test('an agent form with a NUL in the name → back to the form with the name marked; htmx gets a 422 alert; no agent', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const web = await signedIn(client, owner)
    const base = `/t/${tenant.slug}`
    await web.get(`${base}/agents/new`)
    const form = {
      name: `Echo${NUL}bot`,
      slug: 'echo',
      instructions: 'Repeat.',
      model: 'simulator/echo',
      max_tokens: '64',
    }
    const response = await web.submit('POST', `${base}/agents`, form, {
      referer: `http://${process.env.HOST}:${process.env.PORT}${base}/agents/new`,
    })
    assert.equal(response.status(), 302)
    assert.equal(
      new URL(response.header('location') ?? '', 'http://x').pathname,
      `${base}/agents/new`
    )
    const page = await web.get(`${base}/agents/new`)
    page.assertStatus(200)
    assert.include(page.text(), 'id="field-name-error"')
    const htmx = await web.submit('POST', `${base}/agents`, form, { 'hx-request': 'true' })
    htmx.assertStatus(422)
    assert.equal(htmx.header('hx-retarget'), '#alerts')
    // A NUL hidden in the metadata JSON's escapes is caught when the form parses it.
    const escaped = await web.submit(
      'POST',
      `${base}/agents`,
      { ...form, name: 'Echo bot', metadata: '{"a": "\\u0000"}' },
      { 'hx-request': 'true' }
    )
    escaped.assertStatus(422)
    assert.include(escaped.text(), 'metadata.a')
    assert.lengthOf(await db.from('agents').where('tenant_id', tenant.id), 0)
  })

  test('a chat message with a NUL → no run; a non-UUID thread in the chat form → 404', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create({ grant: 1_000_000_000n })
    const web = await signedIn(client, owner)
    const base = `/t/${tenant.slug}`
    await web.submit('POST', `${base}/agents`, {
      name: 'Echo',
      slug: 'echo',
      instructions: 'Repeat.',
      model: 'simulator/echo',
      max_tokens: '64',
    })
    await web.get(`${base}/agents/echo/chat`)
    const refused = await web.submit(
      'POST',
      `${base}/agents/echo/runs`,
      { input: `hi${NUL}` },
      { 'hx-request': 'true' }
    )
    refused.assertStatus(422)
    const missing = await web.submit(
      'POST',
      `${base}/agents/echo/runs`,
      { input: 'hi', thread_id: 'not-a-uuid' },
      { 'hx-request': 'true' }
    )
    missing.assertStatus(404)
    assert.lengthOf(await db.from('runs').where('tenant_id', tenant.id), 0)
  })
})
