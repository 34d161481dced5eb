import { randomUUID } from 'node:crypto'
import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import emitter from '@adonisjs/core/services/emitter'
import { balanceOf, hold, verifyLedger } from '#credits'
import { RunFinished, recoverAbandonedRuns } from '#agents'
import { flushProjections, rebuildTenant } from '#analytics'
import Run from '#agents/models/run'
import AgentRun from '#agents/commands/agent_run'
import { createAgent } from '#agents/actions/save_agent'
import { runsIdle } from '#agents/services/run_executor'
import { allowPrivateNetworks, fakeProvider, FAST, parseSse } from '#tests/helpers/agents'
import { FakeLlm, openai } from '#tests/helpers/fake_llm'
import { runCommand } from '#tests/helpers/ace'
import { signedIn } from '#tests/helpers/session'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

/** Waits until the run is terminal. */
async function ended(runId: string) {
  for (let i = 0; i < 300; i++) {
    const run = await Run.find(runId)
    if (run?.terminal) return run
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`run ${runId} did not end`)
}

/**
 * A run as a process that died mid-run leaves it: `running`, owned by a process that never beats,
 * its hold pending, optionally with output already streamed.
 */
async function orphanedRun(
  tenantId: string,
  agentId: string,
  options: { produced: boolean; key?: string }
) {
  const runId = randomUUID()
  const placed = await hold({ tenantId, amount: 5000n, reference: `run:${runId}` })
  await db.table('runs').insert({
    id: runId,
    tenant_id: tenantId,
    agent_id: agentId,
    status: 'running',
    input: 'hi',
    hold_micros: 5000,
    hold_id: placed.id,
    source: 'api',
    owner: 'gone:1:abc',
    attempts: 1,
    started_at: new Date(),
  })
  await db.table('run_events').insert({
    tenant_id: tenantId,
    run_id: runId,
    seq: 1,
    event: 'run',
    data: JSON.stringify({ id: runId }),
  })
  if (options.produced)
    await db.table('run_events').insert({
      tenant_id: tenantId,
      run_id: runId,
      seq: 2,
      event: 'delta',
      data: JSON.stringify({ text: 'Hel' }),
    })
  if (options.key) {
    await db.table('idempotency_keys').insert({
      tenant_id: tenantId,
      route: `runs:${agentId}`,
      key: options.key,
      request_hash: 'x',
      status: 'in_flight',
      reference: `run:${runId}`,
      expires_at: new Date(Date.now() + 3600_000),
    })
  }
  return { runId, holdId: placed.id }
}

test.group('agents / run engine: one use case, recovery, money bounds', (group) => {
  allowPrivateNetworks(group)

  test('a run whose process died after streaming output ends failed once: hold released, terminal event, key reclaimable, RunFinished once', async ({
    assert,
  }) => {
    const { tenant, owner } = await WorkspaceFactory.create({ grant: 1_000_000_000n })
    const { agent } = await createAgent({
      tenantId: tenant.id,
      actorId: owner.id,
      name: 'E',
      slug: 'e',
      instructions: 'Repeat.',
      model: 'simulator/echo',
    })
    const { runId, holdId } = await orphanedRun(tenant.id, agent.id, { produced: true, key: 'k-1' })
    const finished: string[] = []
    const listener = (event: RunFinished) => void finished.push(event.runId)
    emitter.on(RunFinished, listener)
    try {
      assert.equal(await recoverAbandonedRuns(), 1)
      assert.equal(await recoverAbandonedRuns(), 0, 'a recovered run is not recovered again')
    } finally {
      emitter.off(RunFinished, listener)
    }
    const run = await Run.findOrFail(runId)
    assert.equal(run.status, 'failed')
    assert.equal(run.error?.title, 'Run abandoned')
    assert.equal(run.errorType, 'abandoned')
    assert.deepEqual(finished, [runId])
    const heldRow = await db.from('credit_holds').where('id', holdId).first()
    assert.equal(heldRow.status, 'released')
    assert.equal((await balanceOf(tenant.id)).held, 0n)
    const events = await db.from('run_events').where('run_id', runId).orderBy('seq')
    assert.deepEqual(
      events.map((e) => e.event),
      ['run', 'delta', 'error']
    )
    assert.lengthOf(
      await db.from('idempotency_keys').where('tenant_id', tenant.id).where('key', 'k-1'),
      0,
      'the key can be used again'
    )
    assert.deepEqual(await verifyLedger(tenant.id), [])

    // Analytics counts the abandoned run like any other (a failed run), and a rebuild agrees.
    await flushProjections()
    const counted = async () =>
      (
        await db
          .from('usage_daily')
          .where('tenant_id', tenant.id)
          .select(db.raw('sum(runs)::int AS runs, sum(errors)::int AS errors'))
      )[0]
    assert.deepEqual(await counted(), { runs: 1, errors: 1 })
    await rebuildTenant(tenant.id)
    assert.deepEqual(await counted(), { runs: 1, errors: 1 })
  })

  test('a run whose process died before any output is handed back to the queue and runs to the end, charged once', async ({
    assert,
  }) => {
    const { tenant, owner } = await WorkspaceFactory.create({ grant: 1_000_000_000n })
    const { agent } = await createAgent({
      tenantId: tenant.id,
      actorId: owner.id,
      name: 'E',
      slug: 'e',
      instructions: 'Repeat.',
      model: 'simulator/echo',
    })
    const { runId, holdId } = await orphanedRun(tenant.id, agent.id, { produced: false })
    await db
      .from('runs')
      .where('id', runId)
      .update({
        agent_version_id: (await db.from('agent_versions').where('agent_id', agent.id).first()).id,
        version: 1,
      })
    assert.equal(await recoverAbandonedRuns(), 0, 'retried, not ended')
    const run = await ended(runId)
    await runsIdle()
    assert.equal(run.status, 'succeeded')
    assert.equal(run.output, 'hi')
    assert.equal(run.attempts, 2)
    const heldRow = await db.from('credit_holds').where('id', holdId).first()
    assert.equal(heldRow.status, 'settled')
    assert.equal(BigInt(heldRow.charged), run.costMicros)
    const events = await db.from('run_events').where('run_id', runId).orderBy('seq')
    assert.deepEqual(
      events.map((e) => e.seq),
      events.map((_, i) => i + 1),
      'the log continues in sequence'
    )
    assert.equal(events.at(-1).event, 'done')
    assert.deepEqual(await verifyLedger(tenant.id), [])
  })

  test('async: 202 queued, then executed and followed to the end over SSE from the stored log', async ({
    client,
    assert,
  }) => {
    const { tenant, owner, token } = await WorkspaceFactory.create({
      grant: 1_000_000_000n,
      token: true,
    })
    await createAgent({
      tenantId: tenant.id,
      actorId: owner.id,
      name: 'E',
      slug: 'e',
      instructions: 'Repeat.',
      model: 'simulator/echo',
    })
    const accepted = await client
      .post('/api/v1/agents/e/runs')
      .bearerToken(token)
      .json({ input: 'later', async: true })
    accepted.assertStatus(202)
    assert.equal(accepted.body().status, 'queued')
    const stream = await client
      .get(`/api/v1/runs/${accepted.body().id}/events`)
      .bearerToken(token)
      .header('accept', 'text/event-stream')
    const events = parseSse(stream.text())
    assert.equal(events.at(-1)!.event, 'done')
    assert.equal(JSON.parse(events.at(-1)!.data).output, 'later')
    assert.deepEqual(
      events.map((e) => Number(e.id)),
      events.map((_, i) => i + 1)
    )
    await runsIdle()
  })

  test('a queued run cancelled before a worker takes it ends cancelled and frees its hold', async ({
    client,
    assert,
  }) => {
    const { tenant, owner, token } = await WorkspaceFactory.create({
      grant: 1_000_000_000n,
      token: true,
    })
    const { agent } = await createAgent({
      tenantId: tenant.id,
      actorId: owner.id,
      name: 'E',
      slug: 'e',
      instructions: 'Repeat.',
      model: 'simulator/echo',
    })
    const runId = randomUUID()
    const placed = await hold({ tenantId: tenant.id, amount: 5000n, reference: `run:${runId}` })
    await db.table('runs').insert({
      id: runId,
      tenant_id: tenant.id,
      agent_id: agent.id,
      status: 'queued',
      input: 'hi',
      hold_micros: 5000,
      hold_id: placed.id,
      source: 'api',
    })
    const response = await client.post(`/api/v1/runs/${runId}/cancellation`).bearerToken(token)
    response.assertStatus(202)
    const run = await Run.findOrFail(runId)
    assert.equal(run.status, 'cancelled')
    assert.equal((await balanceOf(tenant.id)).held, 0n)
    assert.deepEqual(await verifyLedger(tenant.id), [])
  })

  test('1 MB of tool definitions with max_tokens 1 on a nearly empty balance gets 402: the hold counts every byte sent', async ({
    client,
    assert,
  }) => {
    const fake = await FakeLlm.start('openai')
    try {
      const { tenant, token } = await WorkspaceFactory.create({ grant: 10_000n, token: true })
      const { model } = await fakeProvider(tenant.id, fake, {
        contextWindow: 2_000_000,
        settings: FAST,
      })
      const tools = Array.from({ length: 50 }, (_, i) => ({
        type: 'function',
        function: {
          name: `tool_${i}`,
          description: 'x'.repeat(20_000),
          parameters: { type: 'object' },
        },
      }))
      const response = await client
        .post('/api/v1/chat/completions')
        .bearerToken(token)
        .json({ model, max_tokens: 1, messages: [{ role: 'user', content: 'hi' }], tools })
      assert.equal(response.status(), 402)
      assert.lengthOf(fake.requests, 0, 'the provider was never called')
      assert.lengthOf(await db.from('runs').where('tenant_id', tenant.id), 0)
      // The same request on a small context window is refused as too long instead.
      const small = await fakeProvider(tenant.id, fake, { slug: 'small', settings: FAST })
      const tooLong = await client
        .post('/api/v1/chat/completions')
        .bearerToken(token)
        .json({
          model: small.model,
          max_tokens: 1,
          messages: [{ role: 'user', content: 'hi' }],
          tools,
        })
      assert.equal(tooLong.status(), 422)
    } finally {
      await fake.close()
    }
  })

  test('a provider reporting more usage than the hold allows is recorded as reported, charged up to the hold and flagged', async ({
    client,
    assert,
  }) => {
    const fake = await FakeLlm.start(
      'openai',
      openai.stream(['ok'], {
        usage: { prompt_tokens: 900_000, completion_tokens: 5, total_tokens: 900_005 },
      })
    )
    try {
      const { tenant, token } = await WorkspaceFactory.create({
        grant: 1_000_000_000n,
        token: true,
      })
      const { model } = await fakeProvider(tenant.id, fake, { settings: FAST })
      const response = await client
        .post('/api/v1/chat/completions')
        .bearerToken(token)
        .json({ model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })
      response.assertStatus(200)
      assert.equal(response.body().usage.prompt_tokens, 900_000)
      await runsIdle()
      const run = await Run.query().where('tenantId', tenant.id).firstOrFail()
      assert.isTrue(run.usageOverHold)
      assert.equal(run.inputTokens, 900_000)
      assert.equal(run.costMicros, run.holdMicros)
      const charge = await db
        .from('ledger_entries')
        .where('tenant_id', tenant.id)
        .where('kind', 'charge')
        .firstOrFail()
      assert.equal(BigInt(charge.amount), -run.holdMicros)
      assert.deepEqual(await verifyLedger(tenant.id), [])
    } finally {
      await fake.close()
    }
  })
})

test.group('agents / run engine: metrics', () => {
  test('/metrics counts finished runs by status and reports their duration, pending holds and queued runs', async ({
    client,
    assert,
  }) => {
    const { tenant, owner, token } = await WorkspaceFactory.create({
      grant: 1_000_000_000n,
      token: true,
    })
    await createAgent({
      tenantId: tenant.id,
      actorId: owner.id,
      name: 'E',
      slug: 'e',
      instructions: 'Repeat.',
      model: 'simulator/echo',
    })
    const count = (text: string) =>
      Number(/^agora_runs_total\{status="succeeded"\} (\d+)/m.exec(text)?.[1] ?? 0)
    const before = count((await client.get('/metrics')).text())
    ;(
      await client.post('/api/v1/agents/e/runs').bearerToken(token).json({ input: 'counted' })
    ).assertStatus(201)
    const text = (await client.get('/metrics')).text()
    assert.equal(count(text), before + 1)
    assert.match(text, /^agora_run_duration_seconds_count\{status="succeeded"\} \d+/m)
    assert.match(text, /^agora_holds_pending \d+/m)
    assert.match(text, /^agora_queue_depth \d+/m)
  })
})

test.group('agents / run engine: the cached agent', () => {
  test('a run uses the agent as last saved: a new version, a new slug and a deletion are seen at once', async ({
    client,
    assert,
  }) => {
    const { token } = await WorkspaceFactory.create({ grant: 1_000_000_000n, token: true })
    const run = (slug: string) =>
      client.post(`/api/v1/agents/${slug}/runs`).bearerToken(token).json({ input: 'x' })
    await client
      .post('/api/v1/agents')
      .bearerToken(token)
      .json({ name: 'C', slug: 'c', instructions: 'One.', model: 'simulator/echo' })
    assert.equal((await run('c')).body().version, 1)
    await client.patch('/api/v1/agents/c').bearerToken(token).json({ instructions: 'Two.' })
    assert.equal((await run('c')).body().version, 2, 'the new version, not the cached one')
    await client.patch('/api/v1/agents/c').bearerToken(token).json({ slug: 'renamed' })
    assert.equal((await run('c')).status(), 404, 'the old slug is gone')
    assert.equal((await run('renamed')).status(), 201)
    await client.delete('/api/v1/agents/renamed').bearerToken(token)
    assert.equal((await run('renamed')).status(), 404)
  })
})

test.group('agents / run engine: Idempotency-Key on every entry point', () => {
  test('OpenAI-compatible endpoint: the same key replays the first completion; another body conflicts', async ({
    client,
    assert,
  }) => {
    const { tenant, owner, token } = await WorkspaceFactory.create({
      grant: 1_000_000_000n,
      token: true,
    })
    await createAgent({
      tenantId: tenant.id,
      actorId: owner.id,
      name: 'E',
      slug: 'e',
      instructions: 'Repeat.',
      model: 'simulator/echo',
    })
    const body = { model: 'agent:e', messages: [{ role: 'user', content: 'once' }] }
    const first = await client
      .post('/api/v1/chat/completions')
      .bearerToken(token)
      .header('idempotency-key', 'oa-1')
      .json(body)
    first.assertStatus(200)
    const again = await client
      .post('/api/v1/chat/completions')
      .bearerToken(token)
      .header('idempotency-key', 'oa-1')
      .json(body)
    assert.equal(again.status(), 200, JSON.stringify(again.body()))
    assert.deepEqual(again.body(), first.body())
    const other = await client
      .post('/api/v1/chat/completions')
      .bearerToken(token)
      .header('idempotency-key', 'oa-1')
      .json({ ...body, messages: [{ role: 'user', content: 'twice' }] })
    assert.equal(other.status(), 409, JSON.stringify(other.body()))
    assert.equal(other.body().error.code, 'E_IDEMPOTENCY_CONFLICT')
    assert.lengthOf(await db.from('runs').where('tenant_id', tenant.id), 1)
    assert.lengthOf(
      await db.from('ledger_entries').where('tenant_id', tenant.id).where('kind', 'charge'),
      1
    )
  })

  test('web chat: a form submitted twice starts one run', async ({ client, assert }) => {
    const { tenant, owner } = await WorkspaceFactory.create({ grant: 1_000_000_000n })
    await createAgent({
      tenantId: tenant.id,
      actorId: owner.id,
      name: 'E',
      slug: 'e',
      instructions: 'Repeat.',
      model: 'simulator/echo',
    })
    const web = await signedIn(client, owner)
    const page = (await web.get(`/t/${tenant.slug}/agents/e/chat`)).text()
    const key = /name="idempotency_key" value="([^"]+)"/.exec(page)![1]
    const first = await web.submit('POST', `/t/${tenant.slug}/agents/e/runs`, {
      input: 'double click',
      idempotency_key: key,
    })
    const second = await web.submit('POST', `/t/${tenant.slug}/agents/e/runs`, {
      input: 'double click',
      idempotency_key: key,
    })
    first.assertStatus(302)
    second.assertStatus(302)
    assert.equal(second.header('location'), first.header('location'))
    assert.lengthOf(await db.from('runs').where('tenant_id', tenant.id), 1)
    assert.lengthOf(await db.from('threads').where('tenant_id', tenant.id), 1)
  })

  test('CLI: agent:run --idempotency-key twice runs once and prints the first answer again', async ({
    assert,
  }) => {
    const { tenant, owner } = await WorkspaceFactory.create({ grant: 1_000_000_000n })
    await createAgent({
      tenantId: tenant.id,
      actorId: owner.id,
      name: 'E',
      slug: 'e',
      instructions: 'Repeat.',
      model: 'simulator/echo',
    })
    const first = await runCommand(AgentRun, [
      tenant.slug,
      'e',
      'from',
      'the',
      'shell',
      '--idempotency-key=cli-1',
    ])
    assert.equal(first.exitCode, 0, first.stderr)
    assert.equal(first.stdout.trim(), 'from the shell')
    const second = await runCommand(AgentRun, [
      tenant.slug,
      'e',
      'from',
      'the',
      'shell',
      '--idempotency-key=cli-1',
    ])
    assert.equal(second.exitCode, 0, second.stderr)
    assert.equal(second.stdout.trim(), 'from the shell')
    assert.include(second.stderr, 'replayed')
    assert.lengthOf(await db.from('runs').where('tenant_id', tenant.id), 1)
  })
})
