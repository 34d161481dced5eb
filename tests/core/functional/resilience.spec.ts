import { test } from '@japa/runner'
import { connect } from 'node:net'
import { once } from 'node:events'
import pg from 'pg'
import db from '@adonisjs/lucid/services/db'
import { probeState } from '#tests/helpers/probe_routes'
import { processGuard } from '#core/process_guard'
import { isTransientError } from '#core/transient'

const realPostgres = Boolean(process.env.DATABASE_URL)

test.group('core / a dependency that is down answers 503, never 500', () => {
  test('API: problem+json 503 with Retry-After', async ({ client, assert }) => {
    const response = await client.get('/api/v1/__probe/unavailable')
    response.assertStatus(503)
    assert.include(response.header('content-type'), 'application/problem+json')
    assert.equal(response.header('retry-after'), '2')
    assert.equal(response.body().status, 503)
    assert.notInclude(JSON.stringify(response.body()), 'ECONNREFUSED')
  })

  test('browser: a friendly page that says to try again', async ({ client, assert }) => {
    const response = await client.get('/__probe/unavailable').header('accept', 'text/html')
    response.assertStatus(503)
    assert.equal(response.header('retry-after'), '2')
    assert.include(response.text(), 'briefly unavailable')
    assert.notInclude(response.text(), 'ECONNREFUSED')
  })

  test('classifies driver errors: connection loss, shutdown, pool starvation, Redis; not bad SQL', ({
    assert,
  }) => {
    assert.isTrue(
      isTransientError(
        Object.assign(new Error('terminating connection due to administrator command'), {
          code: '57P01',
        })
      )
    )
    assert.isTrue(isTransientError(new Error('Connection terminated unexpectedly')))
    assert.isTrue(
      isTransientError(
        Object.assign(new Error('Knex: Timeout acquiring a connection.'), {
          name: 'KnexTimeoutError',
        })
      )
    )
    assert.isTrue(
      isTransientError(
        new AggregateError([Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })])
      )
    )
    assert.isTrue(
      isTransientError(new Error("Stream isn't writeable and enableOfflineQueue options is false"))
    )
    assert.isTrue(
      isTransientError(
        Object.assign(new Error('Reached the max retries per request limit'), {
          name: 'MaxRetriesPerRequestError',
        })
      )
    )
    assert.isFalse(
      isTransientError(Object.assign(new Error('syntax error at or near "x"'), { code: '42601' }))
    )
    assert.isFalse(isTransientError(Object.assign(new Error('duplicate key'), { code: '23505' })))
    assert.isFalse(isTransientError(new Error('boom')))
  })
})

test.group('core / process guard', () => {
  const recorder = () => {
    const logged: { obj: any; msg: string; level: string }[] = []
    const at = (level: string) => (obj: any, msg: string) => logged.push({ obj, msg, level })
    return { logged, log: { error: at('error'), warn: at('warn'), fatal: at('fatal') } as any }
  }

  test('an unhandled rejection is logged with its request id; a lost connection too; nothing ends', async ({
    assert,
    client,
  }) => {
    const { logged, log } = recorder()
    let terminated = 0
    const guard = processGuard({ log, terminate: () => terminated++ })
    // The handler runs in the async context of the rejected promise: the request's.
    probeState.inRequest = () => guard.onRejection(new Error('a background write failed'))
    try {
      const response = await client.get('/__probe/in-request').header('X-Request-Id', 'req-guard-1')
      response.assertStatus(204)
    } finally {
      probeState.inRequest = undefined
    }
    guard.onException(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))
    assert.deepEqual(
      logged.map((entry) => [entry.level, entry.obj.request_id]),
      [
        ['error', 'req-guard-1'],
        ['warn', undefined],
      ]
    )
    assert.include(logged[0].msg, 'a background write failed')
    assert.equal(terminated, 0)
  })

  test('a non-transient uncaught exception shuts down gracefully', ({ assert }) => {
    const { logged, log } = recorder()
    let terminated = 0
    const guard = processGuard({ log, terminate: () => terminated++ })
    try {
      guard.onException(new TypeError('cannot read properties of undefined'))
      assert.deepEqual(
        logged.map((entry) => entry.level),
        ['fatal']
      )
      assert.equal(terminated, 1)
      assert.equal(process.exitCode, 1)
    } finally {
      process.exitCode = undefined
    }
  })
})

test.group('core / connections', () => {
  test('a connection that never sends a byte is closed after HTTP_IDLE_TIMEOUT_S', async ({
    assert,
  }) => {
    const socket = connect(Number(process.env.PORT), '127.0.0.1')
    await once(socket, 'connect')
    const started = Date.now()
    await once(socket, 'close')
    const waited = Date.now() - started
    const idleMs = Number(process.env.HTTP_IDLE_TIMEOUT_S) * 1000
    assert.isAtLeast(waited, idleMs - 100)
    assert.isBelow(waited, idleMs + 2000)
  }).timeout(15_000)

  test('a connection that sends its request in time is served past the idle timeout', async ({
    assert,
  }) => {
    const socket = connect(Number(process.env.PORT), '127.0.0.1')
    await once(socket, 'connect')
    socket.write('GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n')
    let text = ''
    socket.on('data', (chunk) => (text += chunk))
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.include(text, '200 OK')
    socket.destroy()
  })

  test('a read whose connection is killed mid-query is retried once on a fresh connection', async ({
    assert,
  }) => {
    const killer = new pg.Client({ connectionString: process.env.DATABASE_URL })
    await killer.connect()
    try {
      const read = db
        .query()
        .select(db.raw(`pg_sleep(0.5) is null as slept, 'agora-read-retry' as tag`))
        .first()
      await new Promise((resolve) => setTimeout(resolve, 200))
      const killed = await killer.query(
        `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE query LIKE '%agora-read-retry%' AND pid <> pg_backend_pid()`
      )
      assert.equal(killed.rowCount, 1)
      const row = await read
      assert.equal(row.tag, 'agora-read-retry')
      // The pool serves on.
      const again = await db.query().select(db.raw('1 as one')).first()
      assert.equal(again.one, 1)
    } finally {
      await killer.end()
    }
  })
    .skip(!realPostgres, 'needs a real PostgreSQL (PGlite has no backends to terminate)')
    .tags(['@committed'])

  test('a transaction whose COMMIT fails rejects: nothing reports writes the server never stored', async ({
    assert,
  }) => {
    const killer = new pg.Client({ connectionString: process.env.DATABASE_URL })
    await killer.connect()
    await db.rawQuery('CREATE TABLE agora_commit_probe (id int)')
    try {
      const attempt = db.transaction(async (trx) => {
        await trx.rawQuery('INSERT INTO agora_commit_probe VALUES (1)')
        const { rows } = await trx.rawQuery('SELECT pg_backend_pid() AS pid')
        await killer.query('SELECT pg_terminate_backend($1)', [rows[0].pid])
        await new Promise((resolve) => setTimeout(resolve, 100))
        return 'done'
      })
      await assert.rejects(() => attempt)
      const { rows } = await killer.query('SELECT count(*)::int AS n FROM agora_commit_probe')
      assert.equal(rows[0].n, 0)
    } finally {
      await killer.query('DROP TABLE agora_commit_probe')
      await killer.end()
    }
  })
    .skip(!realPostgres, 'needs a real PostgreSQL (PGlite has no backends to terminate)')
    .tags(['@committed'])
})
