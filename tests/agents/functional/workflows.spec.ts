import { test } from '@japa/runner'
import type { ApiClient } from '@japa/api-client'
import db from '@adonisjs/lucid/services/db'
import { balanceOf, verifyLedger } from '#credits'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { parseSse } from '#tests/helpers/agents'
import { runsIdle } from '#agents/services/run_executor'
import AgentRun from '#agents/commands/agent_run'
import { runCommand } from '#tests/helpers/ace'

const microsOf = (credits: string) => BigInt(Math.round(Number(credits) * 1e6))
const stepsMicros = (run: any) =>
  run.steps.reduce((sum: bigint, step: any) => sum + microsOf(step.cost_credits), 0n)

/** Two echo agents and a workflow `pipeline`: step 2 quotes step 1's output. */
async function pipeline(client: ApiClient, token: string, second: Record<string, unknown> = {}) {
  for (const body of [
    { name: 'Alpha', instructions: 'First.', model: 'simulator/echo' },
    { name: 'Beta', instructions: 'Second.', model: 'simulator/echo', ...second },
  ]) {
    const created = await client.post('/api/v1/agents').bearerToken(token).json(body)
    created.assertStatus(201)
  }
  const workflow = await client
    .post('/api/v1/workflows')
    .bearerToken(token)
    .json({
      name: 'Pipeline',
      steps: [
        { agent: 'alpha', input: 'Say: {{input}}' },
        { agent: 'beta', input: 'Step two got: {{steps.1.output}}' },
      ],
    })
  workflow.assertStatus(201)
  return workflow.body()
}

/** The run's charge entries in the ledger. */
async function charges(tenantId: string, runId: string) {
  return db
    .from('ledger_entries')
    .where('tenant_id', tenantId)
    .where('kind', 'charge')
    .where('reference', `run:${runId}`)
}

test.group('agents / workflows: API', () => {
  test('create, read, update (a new version), list versions and delete; the slug is free again', async ({
    client,
    assert,
  }) => {
    const { token } = await WorkspaceFactory.create({ token: true })
    const created = await pipeline(client, token)
    assert.equal(created.slug, 'pipeline')
    assert.equal(created.version, 1)
    assert.deepEqual(created.steps[1], {
      agent: 'beta',
      input: 'Step two got: {{steps.1.output}}',
    })
    const updated = await client
      .patch('/api/v1/workflows/pipeline')
      .bearerToken(token)
      .json({ steps: [{ agent: 'beta' }, { agent: 'alpha' }] })
    updated.assertStatus(200)
    assert.equal(updated.body().version, 2)
    // Defaults: step 1 takes the input, later steps the previous output.
    assert.deepEqual(updated.body().steps, [
      { agent: 'beta', input: '{{input}}' },
      { agent: 'alpha', input: '{{steps.1.output}}' },
    ])
    const versions = await client.get('/api/v1/workflows/pipeline/versions').bearerToken(token)
    assert.deepEqual(
      versions.body().data.map((v: any) => v.version),
      [2, 1]
    )
    const list = await client.get('/api/v1/workflows').bearerToken(token)
    assert.deepEqual(
      list.body().data.map((w: any) => w.slug),
      ['pipeline']
    )
    ;(await client.delete(`/api/v1/workflows/${created.id}`).bearerToken(token)).assertStatus(204)
    ;(await client.get('/api/v1/workflows/pipeline').bearerToken(token)).assertStatus(404)
    const again = await client
      .post('/api/v1/workflows')
      .bearerToken(token)
      .json({ name: 'Pipeline', steps: [{ agent: 'alpha' }] })
    again.assertStatus(201)
  })

  test('bad steps are 422 on the step: unknown agent, a template using a later step, none at all; another workspace sees 404', async ({
    client,
    assert,
  }) => {
    const { token } = await WorkspaceFactory.create({ token: true })
    await pipeline(client, token)
    for (const [steps, field] of [
      [[{ agent: 'alpha' }, { agent: 'ghost' }], 'steps.1.agent'],
      [[{ agent: 'alpha', input: '{{steps.1.output}}' }], 'steps.0.input'],
      [[{ agent: 'alpha' }, { agent: 'beta', input: '{{steps.3.output}}' }], 'steps.1.input'],
      [[], 'steps'],
    ] as const) {
      const response = await client
        .post('/api/v1/workflows')
        .bearerToken(token)
        .json({ name: 'Bad', steps })
      response.assertStatus(422)
      assert.equal(response.body().errors[0].field, field)
    }
    const taken = await client
      .post('/api/v1/workflows')
      .bearerToken(token)
      .json({ name: 'Pipeline', steps: [{ agent: 'alpha' }] })
    taken.assertStatus(422)
    assert.equal(taken.body().errors[0].field, 'slug')

    const other = await WorkspaceFactory.create({ token: true })
    ;(await client.get('/api/v1/workflows/pipeline').bearerToken(other.token)).assertStatus(404)
    ;(
      await client
        .post('/api/v1/workflows/pipeline/runs')
        .bearerToken(other.token)
        .json({ input: 'x' })
    ).assertStatus(404)
  })

  test('a workflow run is billed once: one hold, one charge, per-step costs adding up to it; only the last step streams', async ({
    client,
    assert,
  }) => {
    const { tenant, token } = await WorkspaceFactory.create({ grant: 1_000_000n, token: true })
    await pipeline(client, token)
    const response = await client
      .post('/api/v1/workflows/pipeline/runs')
      .bearerToken(token)
      .header('accept', 'text/event-stream')
      .json({ input: 'hello' })
    const events = parseSse(response.text())
    const run = JSON.parse(events.find((e) => e.event === 'done')!.data)
    assert.equal(run.status, 'succeeded')
    assert.equal(run.output, 'Step two got: Say: hello')
    assert.isNull(run.agent_id)
    assert.equal(run.workflow_version, 1)
    assert.equal(
      events
        .filter((e) => e.event === 'delta')
        .map((e) => JSON.parse(e.data).text)
        .join(''),
      run.output
    )
    const top = run.steps.filter((s: any) => s.kind === 'workflow_step')
    assert.deepEqual(
      top.map((s: any) => [s.name, s.input, s.output, s.status]),
      [
        ['alpha', 'Say: hello', 'Say: hello', 'succeeded'],
        ['beta', 'Step two got: Say: hello', 'Step two got: Say: hello', 'succeeded'],
      ]
    )
    for (const step of top) {
      const children = run.steps.filter((s: any) => s.parent === step.position)
      assert.lengthOf(children, 1)
      assert.equal(children[0].kind, 'model_call')
      assert.equal(step.total_cost_credits, children[0].cost_credits)
    }
    const total = stepsMicros(run)
    assert.equal(total, microsOf(run.cost_credits))
    assert.equal(
      total,
      top.reduce((sum: bigint, s: any) => sum + microsOf(s.total_cost_credits), 0n)
    )
    const charged = await charges(tenant.id, run.id)
    assert.lengthOf(charged, 1)
    assert.equal(-BigInt(charged[0].amount), total)
    const holds = await db.from('credit_holds').where('reference', `run:${run.id}`)
    assert.lengthOf(holds, 1)
    assert.equal(holds[0].status, 'settled')
    assert.equal(BigInt(holds[0].charged), total)
    // Step 2's worst case (1,024 output tokens) did not fit in what step 1 left: extended.
    const firstHold = Math.ceil('First.Say: hello'.length / 3) + 1024 * 2
    const row = await db.from('runs').where('id', run.id).first()
    assert.equal(BigInt(row.hold_micros), BigInt(holds[0].amount))
    assert.isAbove(Number(holds[0].amount), firstHold)
    const balance = await balanceOf(tenant.id)
    assert.equal(BigInt(balance.held), 0n)
    assert.equal(BigInt(balance.balance), 1_000_000n - total)
  })

  test('credits running out mid workflow: the run stops failed with credits_exhausted, charged only for what ran', async ({
    client,
    assert,
  }) => {
    // Enough for step 1's hold, far from enough for step 2's 30,000 output tokens.
    const { tenant, token } = await WorkspaceFactory.create({ grant: 5_000n, token: true })
    await pipeline(client, token, { max_tokens: 30_000 })
    const response = await client
      .post('/api/v1/workflows/pipeline/runs')
      .bearerToken(token)
      .json({ input: 'hello' })
    response.assertStatus(201)
    const run = response.body()
    assert.equal(run.status, 'failed')
    assert.equal(run.error.type, '/problems/credits_exhausted')
    assert.equal(run.error.status, 402)
    assert.deepEqual(
      run.steps.map((s: any) => [s.kind, s.status]),
      [
        ['workflow_step', 'succeeded'],
        ['model_call', 'succeeded'],
        ['workflow_step', 'failed'],
      ]
    )
    assert.equal(stepsMicros(run), microsOf(run.cost_credits))
    assert.isAbove(Number(run.cost_credits), 0)
    const charged = await charges(tenant.id, run.id)
    assert.lengthOf(charged, 1)
    const balance = await balanceOf(tenant.id)
    assert.equal(BigInt(balance.held), 0n)
    assert.equal(BigInt(balance.balance), 5_000n - microsOf(run.cost_credits))
  })

  test('cancelled mid workflow: the run ends cancelled, the hold settles once, later steps never run', async ({
    client,
    assert,
  }) => {
    const { tenant, token } = await WorkspaceFactory.create({ grant: 1_000_000n, token: true })
    await pipeline(client, token, { metadata: { simulate: { ttft_ms: 5_000 } } })
    const accepted = await client
      .post('/api/v1/workflows/pipeline/runs')
      .bearerToken(token)
      .json({ input: 'hello', async: true })
    accepted.assertStatus(202)
    const id = accepted.body().id
    // Wait until step 1 has finished and step 2 is waiting for its first token.
    for (let i = 0; i < 100; i++) {
      const row = await db.from('run_events').where('run_id', id).where('event', 'step').first()
      if (row) break
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const cancelled = await client.post(`/api/v1/runs/${id}/cancellation`).bearerToken(token)
    cancelled.assertStatus(202)
    const started = Date.now()
    await runsIdle()
    assert.isBelow(Date.now() - started, 2_500)
    const run = (await client.get(`/api/v1/runs/${id}`).bearerToken(token)).body()
    assert.equal(run.status, 'cancelled')
    assert.deepEqual(
      run.steps.filter((s: any) => s.kind === 'workflow_step').map((s: any) => s.status),
      ['succeeded', 'cancelled']
    )
    assert.equal(stepsMicros(run), microsOf(run.cost_credits))
    const holds = await db.from('credit_holds').where('reference', `run:${id}`)
    assert.lengthOf(holds, 1)
    assert.equal(holds[0].status, 'settled')
    assert.isAtMost((await charges(tenant.id, id)).length, 1)
    assert.equal(BigInt((await balanceOf(tenant.id)).held), 0n)
  })

  test('a middle step calling a function only the caller can run fails the workflow (422), later steps never run', async ({
    client,
    assert,
  }) => {
    const { token } = await WorkspaceFactory.create({ grant: 1_000_000n, token: true })
    const lookup = { name: 'lookup', parameters: { type: 'object', properties: {} } }
    await pipeline(client, token)
    ;(
      await client
        .patch('/api/v1/agents/alpha')
        .bearerToken(token)
        .json({ tools: [lookup] })
    ).assertStatus(200)
    ;(
      await client
        .patch('/api/v1/workflows/pipeline')
        .bearerToken(token)
        .json({ steps: [{ agent: 'alpha', input: '/tool lookup {}' }, { agent: 'beta' }] })
    ).assertStatus(200)
    const run = (
      await client.post('/api/v1/workflows/pipeline/runs').bearerToken(token).json({ input: 'x' })
    ).body()
    assert.equal(run.status, 'failed')
    assert.equal(run.error.status, 422)
    assert.match(run.error.detail, /"lookup", which only the caller can run/)
    assert.deepEqual(
      run.steps.filter((s: any) => s.kind === 'workflow_step').map((s: any) => s.status),
      ['failed']
    )
  })

  test('workflow:<slug> runs on the OpenAI-compatible endpoint and is listed by /models; the CLI runs it too', async ({
    client,
    assert,
  }) => {
    const { tenant, token } = await WorkspaceFactory.create({ grant: 1_000_000n, token: true })
    await pipeline(client, token)
    const models = await client.get('/api/v1/models').bearerToken(token)
    assert.include(
      models.body().data.map((m: any) => m.id),
      'workflow:pipeline'
    )
    const completion = await client
      .post('/api/v1/chat/completions')
      .bearerToken(token)
      .json({ model: 'workflow:pipeline', messages: [{ role: 'user', content: 'ping' }] })
    completion.assertStatus(200)
    assert.equal(completion.body().choices[0].message.content, 'Step two got: Say: ping')
    const missing = await client
      .post('/api/v1/chat/completions')
      .bearerToken(token)
      .json({ model: 'workflow:nope', messages: [{ role: 'user', content: 'ping' }] })
    missing.assertStatus(404)

    const cli = await runCommand(AgentRun, [tenant.slug, 'workflow:pipeline', 'from', 'cli'])
    assert.equal(cli.exitCode, 0)
    assert.include(cli.stdout, 'Step two got: Say: from cli')
  })
})

test.group('agents / workflows under concurrency', () => {
  test('16 workflow runs racing for too few credits: each is refused (402), succeeds or stops credits_exhausted; every hold resolves once and the ledger adds up', async ({
    client,
    assert,
  }) => {
    const { tenant, owner, token } = await WorkspaceFactory.create({ grant: 400n, token: true })
    try {
      for (const body of [
        { name: 'Alpha', instructions: 'A', model: 'simulator/echo', max_tokens: 10 },
        { name: 'Beta', instructions: 'B', model: 'simulator/lorem', max_tokens: 10 },
      ])
        (await client.post('/api/v1/agents').bearerToken(token).json(body)).assertStatus(201)
      ;(
        await client
          .post('/api/v1/workflows')
          .bearerToken(token)
          .json({ name: 'Race', steps: [{ agent: 'alpha' }, { agent: 'beta' }] })
      ).assertStatus(201)
      const responses = await Promise.all(
        Array.from({ length: 16 }, () =>
          client.post('/api/v1/workflows/race/runs').bearerToken(token).json({ input: 'go' })
        )
      )
      const runs = responses.filter((r) => r.status() === 201).map((r) => r.body())
      assert.isTrue(
        responses.every((r) => r.status() === 201 || r.status() === 402),
        responses.map((r) => r.status()).join(',')
      )
      assert.isAbove(runs.length, 0)
      let spent = 0n
      for (const run of runs) {
        assert.include(['succeeded', 'failed'], run.status)
        if (run.status === 'failed') assert.equal(run.error.type, '/problems/credits_exhausted')
        assert.equal(stepsMicros(run), microsOf(run.cost_credits))
        spent += microsOf(run.cost_credits)
      }
      const holds = await db.from('credit_holds').where('tenant_id', tenant.id)
      assert.lengthOf(holds, runs.length)
      for (const hold of holds) {
        assert.include(['settled', 'released'], hold.status)
        if (hold.charged !== null) assert.isAtMost(Number(hold.charged), Number(hold.amount))
      }
      const balance = await balanceOf(tenant.id)
      assert.equal(BigInt(balance.held), 0n)
      assert.equal(BigInt(balance.balance), 400n - spent)
      assert.deepEqual(await verifyLedger(tenant.id), [])
    } finally {
      await db.from('tenants').where('id', tenant.id).delete()
      await db.from('users').where('id', owner.id).delete()
    }
  }).tags(['@committed'])
})
