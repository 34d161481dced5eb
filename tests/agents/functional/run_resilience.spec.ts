import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { balanceOf, verifyLedger } from '#credits'
import { recoverAbandonedRuns } from '#agents'
import Run from '#agents/models/run'
import { runsIdle } from '#agents/services/run_executor'
import { allowPrivateNetworks, fakeProvider, FAST, parseSse } from '#tests/helpers/agents'
import { FakeLlm, openai } from '#tests/helpers/fake_llm'
import { runCommand } from '#tests/helpers/ace'
import CreditsVerify from '#credits/commands/credits_verify'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

const echo = { name: 'Echo', slug: 'echo', instructions: 'Repeat.', model: 'simulator/echo' }

/** Makes the write of a run's outcome fail, as a database that went away mid-transaction would. */
async function failOutcomeWrites() {
  await db.rawQuery(
    `CREATE FUNCTION agora_test_refuse_outcome() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected: outcome write failed'; END $$`
  )
  await db.rawQuery(
    `CREATE TRIGGER agora_test_refuse_outcome BEFORE UPDATE ON runs FOR EACH ROW WHEN (NEW.status = 'succeeded') EXECUTE FUNCTION agora_test_refuse_outcome()`
  )
  return async () => {
    await db.rawQuery('DROP TRIGGER agora_test_refuse_outcome ON runs')
    await db.rawQuery('DROP FUNCTION agora_test_refuse_outcome()')
  }
}

test.group('agents / a run whose outcome cannot be written', (group) => {
  allowPrivateNetworks(group)

  test('answers 503 (never a 201 for a run that is not stored); recovery ends it at once: not charged, hold released, key reusable', async ({
    client,
    assert,
  }) => {
    const { tenant, token } = await WorkspaceFactory.create({ grant: 1_000_000n, token: true })
    await client.post('/api/v1/agents').bearerToken(token).json(echo)
    const before = await balanceOf(tenant.id)
    const restore = await failOutcomeWrites()
    const refused = await client
      .post('/api/v1/agents/echo/runs')
      .bearerToken(token)
      .header('Idempotency-Key', 'blip-1')
      .json({ input: 'hello' })
    refused.assertStatus(503)
    assert.equal(refused.header('retry-after'), '2')
    assert.include(refused.body().detail, 'not charged')
    await runsIdle()
    await restore()

    const run = await Run.query().where('tenantId', tenant.id).firstOrFail()
    assert.equal(run.status, 'running', 'nothing was written for it yet')
    // Recovery ends this process's orphans once they are a few seconds old.
    await db
      .from('runs')
      .where('id', run.id)
      .update({ started_at: new Date(Date.now() - 10_000) })
    assert.equal(await recoverAbandonedRuns(), 1)
    await run.refresh()
    assert.equal(run.status, 'failed')
    assert.equal(run.costMicros, 0n)
    assert.deepEqual(await balanceOf(tenant.id), before, 'the hold was released, nothing charged')
    assert.deepEqual(await verifyLedger(tenant.id), [])

    // The key was freed: the retry runs and is charged once.
    const retried = await client
      .post('/api/v1/agents/echo/runs')
      .bearerToken(token)
      .header('Idempotency-Key', 'blip-1')
      .json({ input: 'hello' })
    retried.assertStatus(201)
    assert.equal(retried.body().status, 'succeeded')
    assert.notEqual(retried.body().id, run.id)
  })

  test('streamed (SSE): the stream ends at once with an error event saying the run was not recorded', async ({
    client,
    assert,
  }) => {
    const { token } = await WorkspaceFactory.create({ grant: 1_000_000n, token: true })
    await client.post('/api/v1/agents').bearerToken(token).json(echo)
    const restore = await failOutcomeWrites()
    try {
      const started = Date.now()
      const response = await client
        .post('/api/v1/agents/echo/runs')
        .bearerToken(token)
        .header('accept', 'text/event-stream')
        .json({ input: 'hello' })
      const events = parseSse(response.text())
      assert.equal(events.at(-1)?.event, 'error')
      assert.equal(JSON.parse(events.at(-1)!.data).status, 503)
      assert.isBelow(
        Date.now() - started,
        1500,
        'no follower waits for a terminal event that never came'
      )
    } finally {
      await runsIdle()
      await restore()
    }
  })

  test('credits:verify reports a run whose status or cost disagrees with its ledger entries, and a run holding credits past the timeout', async ({
    client,
    assert,
  }) => {
    const { tenant, token } = await WorkspaceFactory.create({ grant: 1_000_000n, token: true })
    await client.post('/api/v1/agents').bearerToken(token).json(echo)
    const first = await client
      .post('/api/v1/agents/echo/runs')
      .bearerToken(token)
      .json({ input: 'one' })
    first.assertStatus(201)
    const second = await client
      .post('/api/v1/agents/echo/runs')
      .bearerToken(token)
      .json({ input: 'two' })
    second.assertStatus(201)
    await runsIdle()
    assert.deepEqual(
      await verifyLedger(tenant.id),
      [],
      'runs that went through the engine agree with the ledger'
    )

    // The lost-run shape: stored as failed at no cost while the ledger kept its charge.
    await db.from('runs').where('id', first.body().id).update({ status: 'failed', cost_micros: 0 })
    // A run still "running" long after the timeout (its hold is settled: a second disagreement).
    await db
      .from('runs')
      .where('id', second.body().id)
      .update({ status: 'running', started_at: new Date(Date.now() - 24 * 3600_000) })
    const problems = await verifyLedger(tenant.id)
    assert.lengthOf(problems, 2)
    assert.match(
      problems.find((line) => line.includes(first.body().id))!,
      /is failed at a cost of 0(\.0+)? but the ledger charged/
    )
    assert.include(
      problems.find((line) => line.includes(second.body().id))!,
      'credits held past RUN_TIMEOUT_S + 60 s'
    )

    const command = await runCommand(CreditsVerify, [tenant.slug])
    assert.equal(command.exitCode, 1)
    assert.include(command.stdout, first.body().id)
  })

  test('an async run that cannot be queued answers an error and leaves nothing behind: no hold, no run waiting, the key reusable', async ({
    client,
    assert,
  }) => {
    // Committed: the failing insert would abort a test's enclosing transaction.
    const { tenant, token, owner } = await WorkspaceFactory.create({
      grant: 1_000_000n,
      token: true,
    })
    try {
      await client.post('/api/v1/agents').bearerToken(token).json(echo)
      const before = await balanceOf(tenant.id)
      await db.rawQuery(
        `CREATE FUNCTION agora_test_refuse_run() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected: run insert failed'; END $$`
      )
      await db.rawQuery(
        `CREATE TRIGGER agora_test_refuse_run BEFORE INSERT ON runs FOR EACH ROW EXECUTE FUNCTION agora_test_refuse_run()`
      )
      const refused = await client
        .post('/api/v1/agents/echo/runs')
        .bearerToken(token)
        .header('Idempotency-Key', 'async-blip')
        .json({ input: 'later', async: true })
      assert.isAtLeast(refused.status(), 500)
      await db.rawQuery('DROP TRIGGER agora_test_refuse_run ON runs')
      await db.rawQuery('DROP FUNCTION agora_test_refuse_run()')
      assert.deepEqual(await balanceOf(tenant.id), before, 'the hold was released')
      assert.lengthOf(
        await db.from('idempotency_keys').where('tenant_id', tenant.id).where('key', 'async-blip'),
        0,
        'the key was freed'
      )

      const retried = await client
        .post('/api/v1/agents/echo/runs')
        .bearerToken(token)
        .header('Idempotency-Key', 'async-blip')
        .json({ input: 'later', async: true })
      retried.assertStatus(202)
      // Let the queued run finish before its workspace is removed.
      for (let i = 0; i < 250 && !(await Run.find(retried.body().id))?.terminal; i++)
        await new Promise((resolve) => setTimeout(resolve, 20))
      await runsIdle()
    } finally {
      await db.rawQuery('DROP TRIGGER IF EXISTS agora_test_refuse_run ON runs')
      await db.rawQuery('DROP FUNCTION IF EXISTS agora_test_refuse_run()')
      await db.from('tenants').where('id', tenant.id).delete()
      await db.from('users').where('id', owner.id).delete()
    }
  }).tags(['@committed'])

  test('a provider that sends NUL bytes or lone surrogates: the run is recorded, those characters stored as U+FFFD', async ({
    client,
    assert,
  }) => {
    const { tenant, token } = await WorkspaceFactory.create({ grant: 1_000_000n, token: true })
    const fake = await FakeLlm.start(
      'openai',
      openai.stream(['Hel\u0000lo ', 'wor\uD800ld'], {
        toolCalls: [{ id: 'c\u00001', name: 'look\uDC00up', arguments: '{"q":"a\u0000"}' }],
      })
    )
    try {
      const { model } = await fakeProvider(tenant.id, fake, { settings: FAST })
      await client
        .post('/api/v1/agents')
        .bearerToken(token)
        .json({ name: 'Fake', slug: 'fake', instructions: 'Be brief.', model })
      const response = await client
        .post('/api/v1/agents/fake/runs')
        .bearerToken(token)
        .json({ input: 'hi' })
      response.assertStatus(201)
      assert.equal(response.body().status, 'succeeded', JSON.stringify(response.body()))
      const stored = await Run.findOrFail(response.body().id)
      assert.equal(stored.output, 'Hel\uFFFDlo wor\uFFFDld')
      const step = await db.from('run_steps').where('run_id', stored.id).firstOrFail()
      assert.deepEqual(step.tool_calls, [
        { id: 'c\uFFFD1', name: 'look\uFFFDup', arguments: '{"q":"a\uFFFD"}' },
      ])
    } finally {
      await runsIdle()
      await fake.close()
    }
  })
})
