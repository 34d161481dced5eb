import { test } from '@japa/runner'
import type { ApiClient } from '@japa/api-client'
import db from '@adonisjs/lucid/services/db'
import { balanceOf } from '#credits'
import Run from '#agents/models/run'
import { runsIdle } from '#agents/services/run_executor'
import Thread from '#agents/models/thread'
import { createAgent } from '#agents/actions/save_agent'
import { parseSse } from '#tests/helpers/agents'
import { signedIn } from '#tests/helpers/session'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

const HTMX = { 'hx-request': 'true' }

/** An owner signed in to a workspace with credits and an echo agent (`/t/<slug>/agents/echo`). */
async function chatReady(
  client: ApiClient,
  credits?: bigint,
  config: { model?: string; max_tokens?: number; metadata?: Record<string, unknown> } = {}
) {
  const workspace = await WorkspaceFactory.create({ grant: credits ?? 1_000_000_000n })
  const { agent } = await createAgent({
    tenantId: workspace.tenant.id,
    actorId: workspace.owner.id,
    name: 'Echo',
    slug: 'echo',
    instructions: 'Repeat.',
    model: 'simulator/echo',
    ...config,
  })
  const web = await signedIn(client, workspace.owner)
  return { ...workspace, agent, web, base: `/t/${workspace.tenant.slug}` }
}

/** Waits until the run has ended (runs started from htmx execute in the background). */
async function settled(runId: string) {
  for (let i = 0; i < 200; i++) {
    const run = await Run.findOrFail(runId)
    if (run.terminal) return run
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`run ${runId} did not end`)
}

test.group('agents / web: chat and runs', () => {
  test('without JavaScript a message runs synchronously, in a new thread, and the page shows the answer', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant } = await chatReady(client)
    const page = await web.get(`${base}/agents/echo/chat`)
    assert.include(page.text(), 'Start a conversation')
    const response = await web.submit('POST', `${base}/agents/echo/runs`, {
      input: 'Hello from a plain form',
    })
    response.assertStatus(302)
    const thread = await Thread.query().where('tenantId', tenant.id).firstOrFail()
    assert.equal(response.header('location'), `${base}/agents/echo/chat?thread=${thread.id}`)
    const run = await Run.query().where('tenantId', tenant.id).firstOrFail()
    assert.deepInclude(run.serialize(), {
      status: 'succeeded',
      source: 'web',
      threadId: thread.id,
      output: 'Hello from a plain form',
    })
    const chat = (await web.get(response.header('location')!)).text()
    assert.include(chat, 'Hello from a plain form</div>')
    assert.include(chat, `name="thread_id" value="${thread.id}"`)
    assert.include(chat, `href="${base}/runs/${run.id}"`)
    assert.notInclude(chat, 'hx-sse:connect', 'a finished run does not stream')

    await web.submit('POST', `${base}/agents/echo/runs`, {
      input: 'Second message',
      thread_id: thread.id,
    })
    const runs = await Run.query().where('threadId', thread.id).orderBy('createdAt')
    assert.lengthOf(runs, 2)
    const messages = await db
      .from('messages')
      .where('thread_id', thread.id)
      .orderBy('created_at')
      .select('role', 'content')
    assert.deepEqual(
      messages.map((m) => m.role),
      ['user', 'assistant', 'user', 'assistant']
    )
    assert.isAbove(runs[1].inputTokens, runs[0].inputTokens, 'the thread history is sent')
  })

  test('with htmx the reply is a fragment whose bubble streams the run over SSE (HTML deltas, then the finished bubble)', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant } = await chatReady(client, undefined, {
      model: 'simulator/lorem',
      max_tokens: 12,
      metadata: { simulate: { latency_ms: 300 } },
    })
    await web.get(`${base}/agents/echo/chat`)
    const response = await web.submit(
      'POST',
      `${base}/agents/echo/runs`,
      { input: 'Stream <please>' },
      HTMX
    )
    response.assertStatus(200)
    const html = response.text()
    const run = await Run.query().where('tenantId', tenant.id).firstOrFail()
    assert.notInclude(html, '<html')
    assert.include(html, 'Stream &lt;please&gt;')
    assert.include(html, `hx-sse:connect="${base}/runs/${run.id}/events"`)
    assert.include(html, `hx-post="${base}/runs/${run.id}/cancellation"`)
    assert.match(html, /<form id="chat-form"[^>]*hx-swap-oob="outerHTML"/)
    assert.include(html, `name="thread_id" value="${run.threadId}"`)
    assert.include(html, 'id="thread-list"')
    assert.equal(response.header('hx-push-url'), `${base}/agents/echo/chat?thread=${run.threadId}`)

    const stream = await web.get(`${base}/runs/${run.id}/events`, HTMX)
    assert.include(stream.header('content-type'), 'text/event-stream')
    const events = parseSse(stream.text())
    const deltas = events.filter((e) => e.event === 'message' && e.data.startsWith('<span>'))
    assert.isAtLeast(deltas.length, 2)
    assert.equal(
      deltas.map((e) => e.data.replace(/<\/?span>/g, '')).join(''),
      (await settled(run.id)).output
    )
    const finished = events.find((e) => e.data.includes('hx-swap-oob'))!
    assert.include(finished.data, `id="run-${run.id}"`)
    assert.include(finished.data, 'succeeded')
    assert.notInclude(finished.data, 'hx-sse:connect')
    assert.equal(events.at(-1)!.event, 'end')

    const replay = parseSse((await web.get(`${base}/runs/${run.id}/events`, HTMX)).text())
    assert.deepEqual(
      replay.map((e) => e.event),
      ['message', 'end'],
      'a finished run sends its bubble at once'
    )
  })

  test('not enough credits: htmx gets a friendly alert in the page; without JavaScript a flash message; no run, no thread', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant } = await chatReady(client, 0n)
    await web.get(`${base}/agents/echo/chat`)
    const response = await web.submit('POST', `${base}/agents/echo/runs`, { input: 'hi' }, HTMX)
    response.assertStatus(402)
    assert.equal(response.header('hx-retarget'), '#alerts')
    assert.include(response.text(), 'Not enough credits to run Echo')
    assert.match(response.text(), /may cost up to [\d.]+ credits and the workspace has 0 available/)

    const plain = await web.submit('POST', `${base}/agents/echo/runs`, { input: 'kept text' })
    plain.assertStatus(302)
    const page = (await web.get(plain.header('location')!)).text()
    assert.include(page, 'Not enough credits to run Echo')
    assert.include(page, 'kept text</textarea>')
    assert.lengthOf(await db.from('runs').where('tenant_id', tenant.id), 0)
    assert.lengthOf(await db.from('threads').where('tenant_id', tenant.id), 0)
  })

  test('an empty message is refused: htmx gets the chat form back (422) with the error, no JS goes back to the chat', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant } = await chatReady(client)
    await web.get(`${base}/agents/echo/chat`)
    const response = await web.submit('POST', `${base}/agents/echo/runs`, { input: '   ' }, HTMX)
    response.assertStatus(422)
    assert.equal(response.header('hx-retarget'), '#chat-form')
    assert.include(response.text(), 'Write a message first.')
    const plain = await web.submit('POST', `${base}/agents/echo/runs`, { input: '' })
    assert.equal(plain.header('location'), `${base}/agents/echo/chat`)
    assert.include((await web.get(plain.header('location')!)).text(), 'Write a message first.')
    assert.lengthOf(await db.from('runs').where('tenant_id', tenant.id), 0)
  })

  test('Stop cancels a running run: htmx gets "Stopping…", the run ends cancelled and is charged once', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant } = await chatReady(client, 1_000_000n, {
      model: 'simulator/lorem',
      max_tokens: 400,
      metadata: { simulate: { latency_ms: 20_000 } },
    })
    await web.get(`${base}/agents/echo/chat`)
    await web.submit('POST', `${base}/agents/echo/runs`, { input: 'go long' }, HTMX)
    const run = await Run.query().where('tenantId', tenant.id).firstOrFail()
    await new Promise((resolve) => setTimeout(resolve, 300))
    const stop = await web.submit('POST', `${base}/runs/${run.id}/cancellation`, {}, HTMX)
    stop.assertStatus(202)
    assert.include(stop.text(), 'Stopping…')
    const ended = await settled(run.id)
    assert.equal(ended.status, 'cancelled')
    assert.isBelow(ended.latencyMs!, 5000)
    // Inside the test's one transaction the run row is visible before the money part of its
    // outcome has run (in production both commit together): wait for the bookkeeping.
    await runsIdle()
    const balance = await balanceOf(tenant.id)
    assert.equal(BigInt(balance.held), 0n)
    assert.equal(BigInt(balance.balance), 1_000_000n - ended.costMicros)
    const again = await web.submit('POST', `${base}/runs/${run.id}/cancellation`, {}, HTMX)
    assert.include(again.text(), 'already ended')
  })

  test('the run page shows status, input, output, steps, tokens, cost, latency, time to first token and model', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant } = await chatReady(client)
    await web.get(`${base}/agents/echo/chat`)
    await web.submit('POST', `${base}/agents/echo/runs`, { input: 'Detail me' })
    const run = await Run.query().where('tenantId', tenant.id).firstOrFail()
    const page = await web.get(`${base}/runs/${run.id}`)
    page.assertStatus(200)
    const html = page.text()
    for (const text of [
      'succeeded',
      'Detail me',
      'model call',
      'simulator/echo',
      `${run.latencyMs} ms`,
      'Time to first token',
      `>${run.inputTokens}<`,
      `>${run.outputTokens}<`,
      'Open conversation',
    ]) {
      assert.include(html, text)
    }
    assert.include(html, (Number(run.costMicros) / 1e6).toFixed(6).replace(/0+$/, ''))
  })

  test('a failed run shows its error in the chat bubble and on the run page', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant } = await chatReady(client, undefined, {
      metadata: { simulate: { fail: '500' } },
    })
    await web.get(`${base}/agents/echo/chat`)
    const response = await web.submit('POST', `${base}/agents/echo/runs`, { input: 'fail please' })
    const run = await Run.query().where('tenantId', tenant.id).firstOrFail()
    assert.equal(run.status, 'failed')
    const chat = (await web.get(response.header('location')!)).text()
    assert.include(chat, 'Simulated upstream error (500).')
    const detail = (await web.get(`${base}/runs/${run.id}`)).text()
    assert.include(detail, 'Provider error: Simulated upstream error (500).')
    assert.include(detail, '>retry<')
  })

  test('the history filters by agent, status and date range in the URL and pages with a cursor', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant, owner } = await chatReady(client)
    await createAgent({
      tenantId: tenant.id,
      actorId: owner.id,
      name: 'Other',
      slug: 'other',
      instructions: 'x',
      model: 'simulator/echo',
    })
    await web.get(`${base}/agents/echo/chat`)
    for (const [slug, input] of [
      ['echo', 'one'],
      ['echo', 'two'],
      ['other', 'three'],
    ]) {
      await web.submit('POST', `${base}/agents/${slug}/runs`, { input })
    }
    const runs = await Run.query().where('tenantId', tenant.id).orderBy('createdAt')
    await db
      .from('runs')
      .where('id', runs[0].id)
      .update({ status: 'failed', created_at: new Date('2020-01-15T12:00:00Z') })
    const ids = (html: string) =>
      [...html.matchAll(new RegExp(`href="${base}/runs/([0-9a-f-]{36})"`, 'g'))].map((m) => m[1])

    assert.sameMembers(
      ids((await web.get(`${base}/runs`)).text()),
      runs.map((r) => r.id)
    )
    assert.sameMembers(ids((await web.get(`${base}/runs?agent=other`)).text()), [runs[2].id])
    assert.sameMembers(ids((await web.get(`${base}/runs?status=failed`)).text()), [runs[0].id])
    assert.sameMembers(ids((await web.get(`${base}/runs?from=2020-01-15&to=2020-01-15`)).text()), [
      runs[0].id,
    ])
    assert.sameMembers(ids((await web.get(`${base}/runs?from=2020-01-16`)).text()), [
      runs[1].id,
      runs[2].id,
    ])
    // The agent filter is a search box whose suggestions come on demand (this workspace's only).
    const filtered = (await web.get(`${base}/runs?agent=other`)).text()
    assert.include(filtered, 'value="other"')
    assert.include(filtered, 'list="runs-agent-options"')
    const foreign = await WorkspaceFactory.create()
    await createAgent({
      tenantId: foreign.tenant.id,
      actorId: foreign.owner.id,
      name: 'Othello',
      slug: 'othello',
      instructions: 'x',
      model: 'simulator/echo',
    })
    const suggested = await web.get(
      `${base}/agents/options?agent=OTH&field=runs-agent-options`,
      HTMX
    )
    assert.equal(
      suggested.text(),
      '<datalist id="runs-agent-options"><option value="other">Other</option></datalist>'
    )
    assert.equal(
      (await web.get(`${base}/agents/options?agent=`, HTMX)).text(),
      '<datalist id="agent-options"></datalist>'
    )

    const first = (await web.get(`${base}/runs?limit=2&agent=`)).text()
    assert.lengthOf(ids(first), 2)
    const next = /href="([^"]+)" rel="next"/.exec(first)![1].replaceAll('&amp;', '&')
    assert.include(next, 'limit=2')
    const second = (await web.get(next)).text()
    assert.deepEqual(ids(second), [runs[0].id])
    assert.notInclude(second, 'rel="next"')
  })
})
