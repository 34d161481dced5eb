import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import emitter from '@adonisjs/core/services/emitter'
import { RunFinished, type RunFacts } from '#agents'
import Run from '#agents/models/run'
import { BACKFILL } from '#database/migrations/agents/1700000000192_run_error_types'
import { insertRuns } from '#tests/analytics/helpers'
import { signedIn } from '#tests/helpers/session'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

const echo = { name: 'Echo', slug: 'echo', instructions: 'Repeat.', model: 'simulator/echo' }

/** Sets environment variables for one test. */
function withEnv(values: Record<string, string>) {
  const previous = Object.fromEntries(Object.keys(values).map((key) => [key, process.env[key]]))
  Object.assign(process.env, values)
  return () => {
    for (const [key, value] of Object.entries(previous))
      if (value === undefined) delete process.env[key]
      else process.env[key] = value
  }
}

test.group('agents / run error types', () => {
  test('a failed run stores its error type: the run, its API shape and its RunFinished facts agree, and the migration classifies it the same way', async ({
    client,
    assert,
    cleanup,
  }) => {
    // Simulator timeouts end at the first-token deadline, without retries.
    cleanup(withEnv({ PROVIDER_FIRST_TOKEN_TIMEOUT_MS: '200', PROVIDER_MAX_RETRIES: '0' }))
    const { tenant, token } = await WorkspaceFactory.create({ grant: 1_000_000_000n, token: true })
    await client.post('/api/v1/agents').bearerToken(token).json(echo)
    const facts: RunFacts[] = []
    const listener = (event: RunFinished) => void facts.push(event.facts)
    emitter.on(RunFinished, listener)
    cleanup(() => emitter.off(RunFinished, listener))

    const expected: [Record<string, unknown>, string | null][] = [
      [{ fail: '429' }, 'rate_limited'],
      [{ fail: '500' }, 'provider_error'],
      [{ fail: 'timeout' }, 'timeout'],
      [{ fail: 'midstream' }, 'provider_error'],
      [{}, null],
    ]
    const ids: string[] = []
    for (const [simulate, type] of expected) {
      const response = await client
        .post('/api/v1/agents/echo/runs')
        .bearerToken(token)
        .json({ input: 'hello there, how are you', metadata: { simulate } })
      response.assertStatus(201)
      const run = response.body()
      ids.push(run.id)
      assert.equal(run.status, type ? 'failed' : 'succeeded', JSON.stringify(simulate))
      assert.equal(run.error_type, type ?? undefined, JSON.stringify(simulate))
      assert.equal((await Run.findOrFail(run.id)).errorType, type)
      const shown = await client.get(`/api/v1/runs/${run.id}`).bearerToken(token)
      assert.equal(shown.body().error_type, type ?? undefined)
    }
    assert.deepEqual(
      ids.map((id) => facts.find((fact) => fact.runId === id)?.errorType),
      expected.map(([, type]) => type)
    )

    // The migration's SQL gives every stored run the type the executor gave it.
    const stored = async () =>
      (
        await db
          .from('runs')
          .where('tenant_id', tenant.id)
          .orderBy('id')
          .select('id', 'status', 'error_type')
      ).map((row) => [row.id, row.status, row.error_type])
    const before = await stored()
    await db.from('runs').where('tenant_id', tenant.id).update({ error_type: null })
    await db.rawQuery(`${BACKFILL} AND r.tenant_id = ?`, [tenant.id])
    assert.deepEqual(await stored(), before)
  })

  test('the API lists only failed runs of the error type asked for; an unknown type is a 422 on `error`', async ({
    client,
    assert,
  }) => {
    const { tenant, token } = await WorkspaceFactory.create({ token: true })
    const [timeout1, timeout2, limited, , other] = await insertRuns(tenant.id, [
      { status: 'failed', errorType: 'timeout' },
      { status: 'failed', errorType: 'timeout' },
      { status: 'failed', errorType: 'rate_limited' },
      { status: 'succeeded' },
      { status: 'failed' },
    ])
    const ids = async (qs: string) => {
      const response = await client.get(`/api/v1/runs?${qs}`).bearerToken(token)
      response.assertStatus(200)
      return response.body().data.map((run: { id: string }) => run.id)
    }
    assert.sameMembers(await ids('error=timeout'), [timeout1.runId, timeout2.runId])
    assert.sameMembers(await ids('error=rate_limited&status=failed'), [limited.runId])
    assert.sameMembers(await ids('error=other'), [other.runId])
    assert.deepEqual(await ids('error=timeout&status=succeeded'), [])
    assert.deepEqual(await ids('error=budget_exceeded'), [])
    const listed = await client.get('/api/v1/runs?error=timeout').bearerToken(token)
    assert.isTrue(
      listed
        .body()
        .data.every((run: any) => run.status === 'failed' && run.error_type === 'timeout')
    )

    const unknown = await client.get('/api/v1/runs?error=gremlins').bearerToken(token)
    unknown.assertStatus(422)
    assert.include(unknown.header('content-type'), 'application/problem+json')
    assert.equal(unknown.body().status, 422)
    assert.equal(unknown.body().errors[0].field, 'error')
    // The same refusal as a bad status.
    const badStatus = await client.get('/api/v1/runs?status=gremlins').bearerToken(token)
    assert.equal(badStatus.status(), unknown.status())
    assert.equal(badStatus.header('content-type'), unknown.header('content-type'))
  })

  test('the runs page filters by error type from its URL, keeps it in its form, and explains an unknown one', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const [limited, , timedOut] = await insertRuns(tenant.id, [
      { status: 'failed', errorType: 'rate_limited' },
      { status: 'succeeded' },
      { status: 'failed', errorType: 'timeout' },
    ])
    const web = await signedIn(client, owner)
    const base = `/t/${tenant.slug}/runs`
    const ids = (html: string) =>
      [...html.matchAll(new RegExp(`href="${base}/([0-9a-f-]{36})"`, 'g'))].map((m) => m[1])

    const page = await web.get(`${base}?status=failed&error=rate_limited`)
    page.assertStatus(200)
    assert.deepEqual(ids(page.text()), [limited.runId])
    assert.match(page.text(), /<select[^>]*name="error"/)
    assert.match(page.text(), /<option value="rate_limited" selected/)
    assert.include(page.text(), 'data-testid="error-type">Rate limited by the provider<')
    assert.deepEqual(ids((await web.get(`${base}?error=timeout`)).text()), [timedOut.runId])
    // The CSV download keeps the filter.
    assert.match(page.text(), /runs\.csv\?[^"]*error=rate_limited/)

    const unknown = await web.get(`${base}?error=gremlins`)
    unknown.assertStatus(200)
    assert.include(unknown.text(), 'Choose an error type from the list.')
    // The bad filter is ignored: every run is listed.
    assert.lengthOf(ids(unknown.text()), 3)
  })
})
