import { DateTime } from 'luxon'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { probeState } from '#tests/helpers/probe_routes'
import { signedIn } from '#tests/helpers/session'

test.group('core / health', () => {
  test('live answers ok while the process runs', async ({ client }) => {
    const response = await client.get('/health/live')
    response.assertStatus(200)
    response.assertBody({ status: 'ok' })
  })

  test('ready checks the database (and Redis only when configured)', async ({ client, assert }) => {
    const response = await client.get('/health/ready')
    response.assertStatus(200)
    assert.equal(response.body().checks.database.status, 'ok')
    assert.equal(response.body().checks.redis.status, process.env.REDIS_URL ? 'ok' : 'skipped')
  })

  test('ready answers 503 with each check down, never the error text', async ({
    client,
    assert,
    cleanup,
  }) => {
    const original = db.rawQuery
    cleanup(() => void (db.rawQuery = original))
    db.rawQuery = (() =>
      Promise.reject(
        new Error('password authentication failed for user "agora" at 10.0.0.5:5432')
      )) as any
    const response = await client.get('/health/ready')
    response.assertStatus(503)
    assert.equal(response.body().status, 'down')
    assert.deepEqual(response.body().checks.database, { status: 'down' })
    assert.equal(response.body().checks.redis.status, process.env.REDIS_URL ? 'ok' : 'skipped')
    assert.notMatch(response.text(), /password|agora|10\.0\.0\.5|error/i)
  })

  test('probes set no session cookie', async ({ client, assert }) => {
    const response = await client.get('/health/live')
    assert.isUndefined(response.header('set-cookie'))
  })
})

test.group('core / request ids', () => {
  test('every response carries a generated X-Request-Id', async ({ client, assert }) => {
    const response = await client.get('/')
    assert.match(response.header('x-request-id') ?? '', /^[0-9a-f-]{36}$/)
  })

  test('a sane caller id is echoed, a hostile one replaced', async ({ client, assert }) => {
    const echoed = await client.get('/health/live').header('X-Request-Id', 'trace-abc.123')
    assert.equal(echoed.header('x-request-id'), 'trace-abc.123')
    const replaced = await client.get('/health/live').header('X-Request-Id', 'x'.repeat(300))
    assert.match(replaced.header('x-request-id') ?? '', /^[0-9a-f-]{36}$/)
  })
})

test.group('core / API errors are problem documents', () => {
  test('unknown API path → 404 problem+json with the request id', async ({ client, assert }) => {
    const response = await client.get('/api/v1/nothing-here').header('X-Request-Id', 'rid-404')
    response.assertStatus(404)
    assert.include(response.header('content-type'), 'application/problem+json')
    assert.deepInclude(response.body(), { status: 404, title: 'Not found', request_id: 'rid-404' })
    assert.isString(response.body().type)
    assert.isString(response.body().detail)
  })

  test('malformed JSON → 400', async ({ client, assert }) => {
    const response = await client.post('/api/v1/__probe/echo').unsafeJson('{"broken": ')
    response.assertStatus(400)
    assert.include(response.header('content-type'), 'application/problem+json')
  })

  test('a JSON scalar body → 400', async ({ client }) => {
    const response = await client.post('/api/v1/__probe/echo').unsafeJson('42')
    response.assertStatus(400)
  })

  test('a body over the limit → 413', async ({ client, assert }) => {
    const huge = JSON.stringify({ text: 'x'.repeat(1_100_000) })
    const response = await client.post('/api/v1/__probe/echo').unsafeJson(huge)
    response.assertStatus(413)
    assert.equal(response.body().status, 413)
  })

  test('a crash → 500 without internal details', async ({ client, assert }) => {
    const response = await client.get('/api/v1/__probe/boom')
    response.assertStatus(500)
    assert.notInclude(JSON.stringify(response.body()), 'internal detail')
    assert.isString(response.body().request_id)
  })

  test('the API needs no CSRF token and sets no session cookie', async ({ client, assert }) => {
    const response = await client.post('/api/v1/__probe/echo').json({ hello: 'world' })
    response.assertStatus(200)
    response.assertBody({ hello: 'world' })
    assert.isUndefined(response.header('set-cookie'))
  })
})

test.group('core / browser pages', () => {
  test('the landing page is served with a strict CSP and security headers', async ({
    client,
    assert,
  }) => {
    const response = await client.get('/')
    response.assertStatus(200)
    const csp = response.header('content-security-policy')
    assert.include(csp, "default-src 'self'")
    assert.include(csp, "script-src 'self'")
    assert.notInclude(csp, 'unsafe-inline')
    assert.notInclude(csp, 'unsafe-eval')
    assert.equal(response.header('x-frame-options'), 'DENY')
    assert.equal(response.header('x-content-type-options'), 'nosniff')
    // A first visit gets no session: no cookie, no CSRF token (the page has no form).
    assert.isUndefined(response.header('set-cookie'))
    assert.notInclude(response.text(), '<meta name="csrf-token"')
    assert.include(response.text(), 'Create a free account')
  })

  test('a browser with a session keeps it on the landing page (and its CSRF token)', async ({
    client,
    assert,
  }) => {
    const { owner } = await WorkspaceFactory.create()
    const web = await signedIn(client, owner)
    const response = await web.get('/')
    response.assertStatus(200)
    assert.include(response.text(), '<meta name="csrf-token"')
    assert.include(response.header('content-security-policy'), "default-src 'self'")
    // The session still works afterwards.
    ;(await web.get('/account')).assertStatus(200)
  })

  test('an unknown page → friendly 404 page', async ({ client, assert }) => {
    const response = await client.get('/no/such/page')
    response.assertStatus(404)
    assert.include(response.header('content-type'), 'text/html')
    assert.include(response.text(), '<html')
  })

  test('a crash → friendly 500 page that quotes the request id, not the error', async ({
    client,
    assert,
  }) => {
    const response = await client.get('/__probe/boom').header('X-Request-Id', 'rid-500')
    response.assertStatus(500)
    assert.include(response.text(), 'rid-500')
    assert.notInclude(response.text(), 'internal detail')
  })

  test('a failing htmx request gets an alert fragment aimed at #alerts', async ({
    client,
    assert,
  }) => {
    const response = await client.get('/__probe/boom').header('HX-Request', 'true')
    response.assertStatus(500)
    assert.equal(response.header('hx-retarget'), '#alerts')
    assert.notInclude(response.text(), '<html')
    assert.include(response.text(), 'alert alert-error')
  })

  test('htmx and Alpine are served from the installed packages', async ({ client, assert }) => {
    for (const url of [
      '/assets/vendor/htmx.js',
      '/assets/vendor/alpine.js',
      '/assets/vendor/hx-sse.js',
      '/assets/app.css',
      '/assets/app.js',
    ]) {
      const response = await client.get(url)
      response.assertStatus(200)
      assert.isAbove(response.text().length, 0, url)
    }
  })
})

test.group('core / CSRF', () => {
  test('a form post without a token is refused and changes nothing', async ({ client, assert }) => {
    const before = probeState.formPosts
    const response = await client.post('/__probe/form').form({ anything: 'x' }).redirects(0)
    assert.notEqual(response.status(), 204)
    assert.equal(probeState.formPosts, before)
  })

  test('an htmx post without a token → 403 and changes nothing', async ({ client, assert }) => {
    const before = probeState.formPosts
    const response = await client
      .post('/__probe/form')
      .header('HX-Request', 'true')
      .form({ anything: 'x' })
    response.assertStatus(403)
    assert.equal(probeState.formPosts, before)
  })

  test('a form post with the session token goes through', async ({ client, assert }) => {
    const page = await client.get('/login')
    const token = /name='_csrf' value='([^']+)'/.exec(page.text())?.[1]
    assert.isString(token)
    const cookieHeader = ([] as string[])
      .concat(page.header('set-cookie') ?? [])
      .map((cookie) => cookie.split(';')[0])
      .join('; ')
    const before = probeState.formPosts
    const response = await client
      .post('/__probe/form')
      .header('cookie', cookieHeader)
      .form({ _csrf: token })
    response.assertStatus(204)
    assert.equal(probeState.formPosts, before + 1)
  })
})

test.group('core / metrics', () => {
  test('loopback reads Prometheus metrics with request counts by route', async ({
    client,
    assert,
  }) => {
    await client.get('/health/live')
    const response = await client.get('/metrics')
    response.assertStatus(200)
    assert.include(
      response.text(),
      'agora_http_requests_total{method="GET",route="/health/live",status="200"}'
    )
    for (const name of [
      'agora_http_request_duration_seconds_bucket',
      'agora_runs_total',
      'agora_run_duration_seconds',
      'agora_holds_pending',
      'agora_queue_depth',
      'agora_cache_requests_total',
    ])
      assert.include(response.text(), name)
  })

  test('a non-loopback caller is refused unless it brings a platform admin token', async ({
    client,
  }) => {
    // Trusted proxy (loopback) forwards a remote client's address.
    const remote = () => client.get('/metrics').header('X-Forwarded-For', '203.0.113.9')
    ;(await remote()).assertStatus(403)
    const { owner, token } = await WorkspaceFactory.create({ token: true })
    ;(await remote().bearerToken(token)).assertStatus(403)
    owner.platformAdmin = true
    await owner.save()
    ;(await remote().bearerToken(token)).assertStatus(200)
    owner.disabledAt = DateTime.now()
    await owner.save()
    ;(await remote().bearerToken(token)).assertStatus(403)
  })
})
