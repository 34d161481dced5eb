import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { balanceOf, verifyLedger } from '#credits'
import Run from '#agents/models/run'
import { startAgora, type AgoraProcess } from '#tests/helpers/processes'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

const NO_POSTGRES = !process.env.DATABASE_URL
const SKIP = 'needs DATABASE_URL: other processes cannot open the in-memory PGlite database'
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

type Received = { event: string; id: string; data: any; at: number }

/**
 * Reads an SSE response as it arrives; `events` fills up live, `done` settles when the server
 * ends the stream (or the connection breaks).
 */
function follow(url: string, init: RequestInit) {
  const events: Received[] = []
  const done = (async () => {
    const response = await fetch(url, init)
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    let buffer = ''
    try {
      for (;;) {
        const { value, done: end } = await reader.read()
        if (end) break
        buffer += decoder.decode(value, { stream: true })
        let cut
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, cut)
          buffer = buffer.slice(cut + 2)
          const fields: Record<string, string> = {}
          for (const line of frame.split('\n')) {
            const i = line.indexOf(':')
            if (i > 0) fields[line.slice(0, i)] = line.slice(i + 1).trimStart()
          }
          if (fields.event)
            events.push({
              event: fields.event,
              id: fields.id,
              data: JSON.parse(fields.data ?? 'null'),
              at: Date.now(),
            })
        }
      }
    } catch {
      // The connection broke (the server was killed).
    }
    return response.status
  })()
  return { events, done }
}

async function until<T>(
  what: string,
  check: () => Promise<T | null | undefined | false>,
  timeoutMs = 20_000
) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

/** A committed workspace with a slow streaming agent, removed afterwards with every process. */
async function durableWorld(cleanup: (fn: () => Promise<void>) => void, latencyMs: number) {
  const workspace = await WorkspaceFactory.create({ grant: 1_000_000_000n, token: true })
  const processes: AgoraProcess[] = []
  cleanup(async () => {
    for (const p of processes) await p.stop('SIGKILL')
    await db.from('tenants').where('id', workspace.tenant.id).delete()
    await db.from('users').where('id', workspace.owner.id).delete()
  })
  const start = async (kind: 'server' | 'worker', env: Record<string, string | undefined> = {}) => {
    const p = await startAgora(kind, { RUN_OWNER_TIMEOUT_S: '2', RUN_TIMEOUT_S: '60', ...env })
    processes.push(p)
    return p
  }
  const headers = {
    'authorization': `Bearer ${workspace.token}`,
    'content-type': 'application/json',
  }
  const createAgent = (url: string) =>
    fetch(`${url}/api/v1/agents`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        name: 'Slow',
        slug: 'slow',
        instructions: 'Talk.',
        model: 'simulator/lorem',
        max_tokens: 100,
        metadata: { simulate: { latency_ms: latencyMs } },
      }),
    })
  return { ...workspace, start, headers, createAgent }
}

async function assertMoneyClean(assert: any, tenantId: string) {
  const balance = await balanceOf(tenantId)
  assert.equal(balance.held, 0n, 'no credits stay held')
  assert.lengthOf(
    await db.from('credit_holds').where('tenant_id', tenantId).where('status', 'pending'),
    0
  )
  assert.deepEqual(await verifyLedger(tenantId), [])
}

test.group('agents / run engine across processes', () => {
  test('SIGKILL while runs stream: after a restart every run is terminal, no credit stays held, the key is reclaimable', async ({
    assert,
    cleanup,
  }) => {
    const w = await durableWorld(cleanup, 20_000)
    const web = await w.start('server')
    assert.equal((await w.createAgent(web.url)).status, 201)
    const streams = Array.from({ length: 6 }, (_, i) =>
      follow(`${web.url}/api/v1/agents/slow/runs`, {
        method: 'POST',
        headers: {
          ...w.headers,
          accept: 'text/event-stream',
          ...(i === 0 ? { 'idempotency-key': 'kill-1' } : {}),
        },
        body: JSON.stringify({ input: `run ${i}` }),
      })
    )
    await until('every run streaming', async () =>
      streams.every((s) => s.events.some((e) => e.event === 'delta'))
    )
    await web.stop('SIGKILL')
    const ids = streams.map((s) => s.events[0].data.id as string)
    assert.lengthOf(
      await db.from('runs').whereIn('id', ids).where('status', 'running'),
      6,
      'the dead process left them running'
    )

    const restarted = await w.start('server')
    const runs = await until('every run terminal', async () => {
      const rows = await Run.query().whereIn('id', ids)
      return rows.every((run) => run.terminal) ? rows : null
    })
    for (const run of runs) {
      assert.equal(run.status, 'failed', 'output was already streamed: not retried')
      assert.equal(run.error?.title, 'Run abandoned')
      const last = await db
        .from('run_events')
        .where('run_id', run.id)
        .orderBy('seq', 'desc')
        .first()
      assert.equal(last.event, 'error')
    }
    await assertMoneyClean(assert, w.tenant.id)

    // A client retrying with the key of an abandoned run gets a new run, not a 409 for a day.
    const retry = await fetch(`${restarted.url}/api/v1/agents/slow/runs`, {
      method: 'POST',
      headers: { ...w.headers, 'idempotency-key': 'kill-1' },
      body: JSON.stringify({ input: 'run 0', metadata: { simulate: { latency_ms: 0 } } }),
    })
    assert.equal(retry.status, 201)
    const body: any = await retry.json()
    assert.notInclude(ids, body.id)
    assert.equal(body.status, 'succeeded')
    await assertMoneyClean(assert, w.tenant.id)
  })
    .tags(['@committed'])
    .timeout(90_000)
    .skip(NO_POSTGRES, SKIP)

  test('SIGTERM drains: a run in flight finishes inside the grace period; past it the rest end failed, settled for what they used', async ({
    assert,
    cleanup,
  }) => {
    const w = await durableWorld(cleanup, 1500)
    const patient = await w.start('server', { SHUTDOWN_GRACE_S: '15' })
    assert.equal((await w.createAgent(patient.url)).status, 201)
    const finishing = follow(`${patient.url}/api/v1/agents/slow/runs`, {
      method: 'POST',
      headers: { ...w.headers, accept: 'text/event-stream' },
      body: JSON.stringify({ input: 'drain me' }),
    })
    await until('the run streaming', async () => finishing.events.some((e) => e.event === 'delta'))
    const exit = patient.stop('SIGTERM')
    await finishing.done
    assert.equal(finishing.events.at(-1)!.event, 'done')
    assert.equal(finishing.events.at(-1)!.data.status, 'succeeded')
    assert.equal((await exit).code, 0)

    const hasty = await w.start('server', { SHUTDOWN_GRACE_S: '1' })
    const cut = follow(`${hasty.url}/api/v1/agents/slow/runs`, {
      method: 'POST',
      headers: { ...w.headers, accept: 'text/event-stream' },
      body: JSON.stringify({ input: 'too slow', metadata: { simulate: { latency_ms: 20_000 } } }),
    })
    await until('the run streaming', async () => cut.events.some((e) => e.event === 'delta'))
    const started = Date.now()
    await hasty.stop('SIGTERM')
    await cut.done
    assert.isBelow(Date.now() - started, 8000)
    const last = cut.events.at(-1)!
    assert.equal(last.event, 'error')
    const run = await Run.findOrFail(cut.events[0].data.id)
    assert.equal(run.status, 'failed')
    assert.equal(run.error?.status, 503)
    assert.isAbove(run.outputTokens, 0)
    assert.isAbove(Number(run.costMicros), 0, 'what it used is charged')
    await assertMoneyClean(assert, w.tenant.id)
  })
    .tags(['@committed'])
    .timeout(90_000)
    .skip(NO_POSTGRES, SKIP)

  for (const bus of ['redis', 'postgres'] as const) {
    test(`a run executed by a queue:work process streams live to an SSE client of the web process (bus: ${bus})`, async ({
      assert,
      cleanup,
    }) => {
      const env = bus === 'postgres' ? { REDIS_URL: undefined } : {}
      const w = await durableWorld(cleanup, 2000)
      const worker = await w.start('worker', env)
      const web = await w.start('server', env)
      assert.equal((await w.createAgent(web.url)).status, 201)
      // The web process leaves the queue to the live worker.
      const accepted = await fetch(`${web.url}/api/v1/agents/slow/runs`, {
        method: 'POST',
        headers: w.headers,
        body: JSON.stringify({ input: 'elsewhere', async: true }),
      })
      assert.equal(accepted.status, 202)
      const { id } = (await accepted.json()) as any
      const live = follow(`${web.url}/api/v1/runs/${id}/events`, {
        headers: { ...w.headers, accept: 'text/event-stream' },
      })
      assert.equal(await live.done, 200)
      const names = live.events.map((e) => e.event)
      assert.equal(names.at(-1), 'done')
      assert.isAbove(names.filter((n) => n === 'delta').length, 3)
      assert.deepEqual(
        live.events.map((e) => Number(e.id)),
        live.events.map((_, i) => i + 1),
        'in order, none lost'
      )
      const firstDelta = live.events.find((e) => e.event === 'delta')!
      assert.isBelow(
        firstDelta.at,
        live.events.at(-1)!.at - 800,
        'deltas arrive while the run executes, not at its end'
      )
      const run = await Run.findOrFail(id)
      assert.equal(run.status, 'succeeded')
      assert.equal(run.owner?.split(':')[1], String(worker.pid), 'the worker executed it')
      await assertMoneyClean(assert, w.tenant.id)
    })
      .tags(['@committed'])
      .timeout(90_000)
      .skip(
        NO_POSTGRES || (bus === 'redis' && !process.env.REDIS_URL),
        bus === 'redis' ? 'needs DATABASE_URL and REDIS_URL' : SKIP
      )
  }
})
