import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { balanceOf } from '#credits'
import { parseSse } from '#tests/helpers/agents'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { UserFactory } from '#database/factories/user_factory'
import { insertRuns } from '#tests/analytics/helpers'
import { signedIn } from '#tests/helpers/session'

/** Deletes a committed test's workspace (its rows cascade) and its owner. */
async function cleanup(tenantId: string, ownerId: string) {
  await db.from('tenants').where('id', tenantId).delete()
  await db.from('users').where('id', ownerId).delete()
}

const echo = { name: 'Echo', slug: 'echo', instructions: 'Repeat.', model: 'simulator/echo' }

/** Expected cost at simulator prices (1 and 2 credits per 1M tokens = 1 and 2 micro-credits per token). */
function micros(inputChars: number, outputChars: number) {
  return Math.ceil(inputChars / 4) * 1 + Math.ceil(outputChars / 4) * 2
}

test.group('agents / API: runs', () => {
  test('a run answers, records usage and is charged exactly; the hold is settled', async ({
    client,
    assert,
  }) => {
    const { tenant, token } = await WorkspaceFactory.create({ grant: 1_000_000n, token: true })
    await client.post('/api/v1/agents').bearerToken(token).json(echo)
    const input = 'Hello there, agent!'
    const response = await client
      .post('/api/v1/agents/echo/runs')
      .bearerToken(token)
      .json({ input })
    response.assertStatus(201)
    const run = response.body()
    assert.equal(run.status, 'succeeded')
    assert.equal(run.output, input)
    assert.equal(run.model, 'simulator/echo')
    assert.deepEqual(run.usage, {
      input_tokens: Math.ceil(('Repeat.'.length + input.length) / 4),
      output_tokens: Math.ceil(input.length / 4),
      estimated: false,
    })
    const cost = micros('Repeat.'.length + input.length, input.length)
    assert.equal(run.cost_credits, (cost / 1e6).toFixed(6).replace(/0+$/, ''))
    assert.isAtLeast(run.steps.length, 1)
    assert.isNumber(run.latency_ms)
    const balance = await balanceOf(tenant.id)
    assert.equal(BigInt(balance.held), 0n)
    assert.equal(BigInt(balance.balance), 1_000_000n - BigInt(cost))
  })

  test('not enough credits → 402 saying needed vs available, and no run is created', async ({
    client,
    assert,
  }) => {
    const { tenant, token } = await WorkspaceFactory.create({ grant: 10n, token: true })
    await client.post('/api/v1/agents').bearerToken(token).json(echo)
    const response = await client
      .post('/api/v1/agents/echo/runs')
      .bearerToken(token)
      .json({ input: 'hi' })
    response.assertStatus(402)
    assert.match(response.body().detail, /needs .* available/)
    const runs = await db.from('runs').where('tenant_id', tenant.id)
    assert.lengthOf(runs, 0)
  })

  test('streams over SSE: run first, then deltas, then done — each event with an id', async ({
    client,
    assert,
  }) => {
    const { token } = await WorkspaceFactory.create({ grant: 1_000_000_000n, token: true })
    await client
      .post('/api/v1/agents')
      .bearerToken(token)
      .json({ ...echo, slug: 'lorem', model: 'simulator/lorem', max_tokens: 40 })
    const response = await client
      .post('/api/v1/agents/lorem/runs')
      .bearerToken(token)
      .header('accept', 'text/event-stream')
      .json({ input: 'go' })
    response.assertStatus(200)
    assert.include(response.header('content-type'), 'text/event-stream')
    const events = parseSse(response.text())
    assert.equal(events[0].event, 'run')
    assert.equal(events.at(-1)!.event, 'done')
    const deltas = events.filter((e) => e.event === 'delta')
    assert.equal(deltas.map((e) => JSON.parse(e.data).text).join('').length, 160)
    assert.deepEqual(
      events.map((e) => Number(e.id)),
      events.map((_, i) => i + 1)
    )
    assert.equal(JSON.parse(events.at(-1)!.data).output.length, 160)
  })

  test('events of a finished run replay from any point (Last-Event-ID) and close', async ({
    client,
    assert,
  }) => {
    const { token } = await WorkspaceFactory.create({ grant: 1_000_000_000n, token: true })
    await client
      .post('/api/v1/agents')
      .bearerToken(token)
      .json({ ...echo, slug: 'lorem', model: 'simulator/lorem', max_tokens: 20 })
    const run = (
      await client.post('/api/v1/agents/lorem/runs').bearerToken(token).json({ input: 'go' })
    ).body()
    const all = parseSse(
      (await client.get(`/api/v1/runs/${run.id}/events`).bearerToken(token)).text()
    )
    assert.equal(all[0].event, 'run')
    assert.equal(all.at(-1)!.event, 'done')
    const resumed = parseSse(
      (
        await client
          .get(`/api/v1/runs/${run.id}/events`)
          .bearerToken(token)
          .header('last-event-id', '3')
      ).text()
    )
    assert.deepEqual(
      resumed.map((e) => e.id),
      all.slice(3).map((e) => e.id)
    )
  })

  // Background execution overlaps the test's requests: it needs real, separate transactions.
  test('async: 202 queued, then the run finishes on its own', async ({
    client,
    assert,
    cleanup: onEnd,
  }) => {
    const { token, tenant, owner } = await WorkspaceFactory.create({
      grant: 1_000_000_000n,
      token: true,
    })
    onEnd(() => cleanup(tenant.id, owner.id))
    await client.post('/api/v1/agents').bearerToken(token).json(echo)
    const accepted = await client
      .post('/api/v1/agents/echo/runs')
      .bearerToken(token)
      .json({ input: 'later', async: true })
    accepted.assertStatus(202)
    assert.equal(accepted.body().status, 'queued')
    let run
    for (let i = 0; i < 50; i++) {
      run = (await client.get(`/api/v1/runs/${accepted.body().id}`).bearerToken(token)).body()
      if (run.status === 'succeeded') break
      await new Promise((r) => setTimeout(r, 50))
    }
    assert.equal(run.status, 'succeeded')
    assert.equal(run.output, 'later')
  }).tags(['@committed'])

  test('cancellation stops a long run within 2 s, settles once and charges no more than the hold', async ({
    client,
    assert,
    cleanup: onEnd,
  }) => {
    const { tenant, token, owner } = await WorkspaceFactory.create({
      grant: 1_000_000_000n,
      token: true,
    })
    onEnd(() => cleanup(tenant.id, owner.id))
    await client
      .post('/api/v1/agents')
      .bearerToken(token)
      .json({
        ...echo,
        slug: 'slow',
        model: 'simulator/lorem',
        max_tokens: 400,
        metadata: { simulate: { latency_ms: 20_000 } },
      })
    const accepted = await client
      .post('/api/v1/agents/slow/runs')
      .bearerToken(token)
      .json({ input: 'go', async: true })
    await new Promise((r) => setTimeout(r, 300))
    const started = Date.now()
    ;(
      await client.post(`/api/v1/runs/${accepted.body().id}/cancellation`).bearerToken(token)
    ).assertStatus(202)
    let run
    for (;;) {
      run = (await client.get(`/api/v1/runs/${accepted.body().id}`).bearerToken(token)).body()
      if (run.status !== 'running' && run.status !== 'queued') break
      await new Promise((r) => setTimeout(r, 50))
    }
    assert.equal(run.status, 'cancelled')
    assert.isBelow(Date.now() - started, 2000)
    assert.isAbove(run.output.length, 0)
    assert.isBelow(run.output.length, 1600)
    const balance = await balanceOf(tenant.id)
    assert.equal(BigInt(balance.held), 0n)
  }).tags(['@committed'])

  test('a failing model falls back to the next one; every attempt is a step', async ({
    client,
    assert,
  }) => {
    const { token } = await WorkspaceFactory.create({ grant: 1_000_000_000n, token: true })
    await client
      .post('/api/v1/agents')
      .bearerToken(token)
      .json({ ...echo, slug: 'fb', fallback_models: ['simulator/lorem'], max_tokens: 8 })
    const response = await client
      .post('/api/v1/agents/fb/runs')
      .bearerToken(token)
      .json({ input: 'hello', metadata: { simulate: { fail: '500' } } })
    response.assertStatus(201)
    // The simulated fault applies to every attempt of this run, so the chain ends failed…
    assert.equal(response.body().status, 'failed')
    assert.isAtLeast(response.body().steps.length, 2)
    assert.isTrue(response.body().steps.every((s: any) => s.status === 'failed'))
    assert.equal(response.body().error.status, 502)
    assert.equal(response.body().cost_credits, '0')
  })

  test('a failure in the middle of the stream ends the run failed, charged for what was produced', async ({
    client,
    assert,
  }) => {
    const { token } = await WorkspaceFactory.create({ grant: 1_000_000_000n, token: true })
    await client
      .post('/api/v1/agents')
      .bearerToken(token)
      .json({ ...echo, slug: 'mid', model: 'simulator/lorem', max_tokens: 40 })
    const response = await client
      .post('/api/v1/agents/mid/runs')
      .bearerToken(token)
      .header('accept', 'text/event-stream')
      .json({ input: 'go', metadata: { simulate: { fail: 'midstream' } } })
    const events = parseSse(response.text())
    assert.equal(events.at(-1)!.event, 'error')
    const run = JSON.parse(events.at(-1)!.data).run
    assert.equal(run.status, 'failed')
    assert.isAbove(run.output.length, 0)
    assert.notEqual(run.cost_credits, '0')
  })

  test('Idempotency-Key: same body replays the stored run; a different body → 409', async ({
    client,
    assert,
  }) => {
    const { tenant, token } = await WorkspaceFactory.create({ grant: 1_000_000_000n, token: true })
    await client.post('/api/v1/agents').bearerToken(token).json(echo)
    const first = await client
      .post('/api/v1/agents/echo/runs')
      .bearerToken(token)
      .header('idempotency-key', 'k-1')
      .json({ input: 'once' })
    const again = await client
      .post('/api/v1/agents/echo/runs')
      .bearerToken(token)
      .header('idempotency-key', 'k-1')
      .json({ input: 'once' })
    first.assertStatus(201)
    again.assertStatus(201)
    assert.deepEqual(again.body(), first.body())
    const different = await client
      .post('/api/v1/agents/echo/runs')
      .bearerToken(token)
      .header('idempotency-key', 'k-1')
      .json({ input: 'twice' })
    different.assertStatus(409)
    const runs = await db.from('runs').where('tenant_id', tenant.id)
    assert.lengthOf(runs, 1)
  })

  test('threads carry history to the model', async ({ client, assert }) => {
    const { token } = await WorkspaceFactory.create({ grant: 1_000_000_000n, token: true })
    await client.post('/api/v1/agents').bearerToken(token).json(echo)
    const thread = await client
      .post('/api/v1/threads')
      .bearerToken(token)
      .json({ agent: 'echo', title: 'Chat' })
    thread.assertStatus(201)
    const one = await client
      .post('/api/v1/agents/echo/runs')
      .bearerToken(token)
      .json({ input: 'first message', thread_id: thread.body().id })
    const two = await client
      .post('/api/v1/agents/echo/runs')
      .bearerToken(token)
      .json({ input: 'second', thread_id: thread.body().id })
    // History (first message + its answer) is part of the second prompt.
    assert.equal(
      two.body().usage.input_tokens,
      Math.ceil(('Repeat.'.length + 'first message'.length * 2 + 'second'.length) / 4)
    )
    assert.equal(one.body().thread_id, thread.body().id)
    const shown = await client.get(`/api/v1/threads/${thread.body().id}`).bearerToken(token)
    assert.deepEqual(
      shown.body().messages.map((m: any) => [m.role, m.content]),
      [
        ['user', 'first message'],
        ['assistant', 'first message'],
        ['user', 'second'],
        ['assistant', 'second'],
      ]
    )
  })

  test('history filters by agent and status, validates them, and pages', async ({
    client,
    assert,
  }) => {
    const { token } = await WorkspaceFactory.create({ grant: 1_000_000_000n, token: true })
    await client.post('/api/v1/agents').bearerToken(token).json(echo)
    await client.post('/api/v1/agents/echo/runs').bearerToken(token).json({ input: 'a' })
    await client.post('/api/v1/agents/echo/runs').bearerToken(token).json({ input: 'b' })
    const list = await client
      .get('/api/v1/runs?agent=echo&status=succeeded&limit=1')
      .bearerToken(token)
    assert.lengthOf(list.body().data, 1)
    assert.isString(list.body().next_cursor)
    ;(await client.get('/api/v1/runs?status=weird').bearerToken(token)).assertStatus(422)
    ;(await client.get('/api/v1/runs?from=yesterday').bearerToken(token)).assertStatus(422)
    const none = await client.get('/api/v1/runs?status=failed').bearerToken(token)
    assert.deepEqual(none.body(), { data: [], next_cursor: null })
  })
})

test.group('agents / runs history drill-down filters', () => {
  test('the API filters runs by member and by model, and refuses a malformed member', async ({
    client,
    assert,
  }) => {
    const { owner, tenant, token } = await WorkspaceFactory.create({ token: true })
    const other = await UserFactory.create()
    const [mineEcho, mineLorem, theirsEcho] = await insertRuns(tenant.id, [
      { memberId: owner.id, model: 'simulator/echo' },
      { memberId: owner.id, model: 'simulator/lorem' },
      { memberId: other.id, model: 'simulator/echo' },
    ])
    const ids = async (qs: string) => {
      const response = await client.get(`/api/v1/runs?${qs}`).bearerToken(token)
      response.assertStatus(200)
      return response.body().data.map((run: { id: string }) => run.id)
    }
    assert.sameMembers(await ids(`member=${owner.id}`), [mineEcho.runId, mineLorem.runId])
    assert.sameMembers(await ids('model=simulator%2Fecho'), [mineEcho.runId, theirsEcho.runId])
    assert.sameMembers(await ids(`member=${other.id}&model=simulator%2Fecho`), [theirsEcho.runId])
    assert.deepEqual(await ids('model=nothing-like-it'), [])
    const malformed = await client.get('/api/v1/runs?member=not-a-uuid').bearerToken(token)
    malformed.assertStatus(422)
    assert.equal(malformed.body().errors[0].field, 'member')
  })

  test('the runs page takes the same filters from its URL and keeps them in its form', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    await insertRuns(tenant.id, [
      { memberId: owner.id, model: 'simulator/echo' },
      { memberId: owner.id, model: 'simulator/lorem' },
      { memberId: null, model: 'simulator/lorem' },
    ])
    const web = await signedIn(client, owner)
    const rows = (html: string) => (html.match(/<tr>/g) ?? []).length - 1 // minus the header row
    const byModel = await web.get(`/t/${tenant.slug}/runs?model=simulator%2Florem`)
    byModel.assertStatus(200)
    assert.equal(rows(byModel.text()), 2)
    assert.include(byModel.text(), '<input type="hidden" name="model" value="simulator/lorem">')
    const both = await web.get(`/t/${tenant.slug}/runs?model=simulator%2Florem&member=${owner.id}`)
    assert.equal(rows(both.text()), 1)
    const nobody = await web.get(`/t/${tenant.slug}/runs?member=not-a-uuid`)
    nobody.assertStatus(200)
    assert.include(nobody.text(), 'No runs match these filters')
  })
})
