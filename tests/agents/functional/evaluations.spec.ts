import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import emitter from '@adonisjs/core/services/emitter'
import { verifyLedger } from '#credits'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { evaluationsIdle } from '#agents/actions/evaluations'
import EvalRunFinished from '#agents/events/eval_run_finished'
import AgentEval from '#agents/commands/agent_eval'
import { runCommand } from '#tests/helpers/ace'

/*
 * Evaluations: suites of cases run against a version of an agent, every case a real run on the
 * simulator (billed), results per case, versions compared side by side, and agent:eval for CI.
 */

const SUITE = {
  name: 'Smoke',
  cases: [
    {
      input: 'Ships from Lyon',
      assertions: [
        { type: 'contains', value: 'Lyon' },
        { type: 'max_cost_credits', value: 1 },
      ],
    },
    { input: 'refund in 30 days', assertions: [{ type: 'regex', value: '\\d+ days' }] },
    {
      input: '{"city":"Lyon"}',
      assertions: [{ type: 'json_schema', value: { required: ['city'] } }],
    },
    { input: 'no match here', assertions: [{ type: 'equals', value: 'something else' }] },
  ],
}

async function workspaceWithAgent(client: any, grant: bigint | null = 1_000_000_000n) {
  const workspace = await WorkspaceFactory.create({ token: true, grant: grant ?? undefined })
  const agent = await client
    .post('/api/v1/agents')
    .bearerToken(workspace.token)
    .json({ name: 'Echo', slug: 'echo', instructions: 'Repeat.', model: 'simulator/echo' })
  agent.assertStatus(201)
  return workspace
}

async function createSuite(client: any, token: string, body: unknown = SUITE) {
  const response = await client
    .post('/api/v1/agents/echo/eval-suites')
    .bearerToken(token)
    .json(body)
  return response
}

async function evaluate(client: any, token: string, suiteId: string, body: object = {}) {
  const started = await client
    .post(`/api/v1/eval-suites/${suiteId}/runs`)
    .bearerToken(token)
    .json(body)
  started.assertStatus(202)
  assert202(started.body())
  await evaluationsIdle()
  const shown = await client.get(`/api/v1/eval-runs/${started.body().id}`).bearerToken(token)
  shown.assertStatus(200)
  return shown.body()
}

function assert202(body: any) {
  if (!['queued', 'running'].includes(body.status)) throw new Error(`started as ${body.status}`)
}

test.group('agents / evaluations', () => {
  test('a suite runs every case as a billed run of the version; results say which passed and why', async ({
    client,
    assert,
  }) => {
    const { tenant, token } = await workspaceWithAgent(client)
    const created = await createSuite(client, token)
    created.assertStatus(201)
    assert.equal(created.header('location'), `/api/v1/eval-suites/${created.body().id}`)
    assert.lengthOf(created.body().cases, 4)
    const finished: EvalRunFinished[] = []
    const listener = (event: EvalRunFinished) => finished.push(event)
    emitter.on(EvalRunFinished, listener)
    let run
    try {
      run = await evaluate(client, token, created.body().id)
    } finally {
      emitter.off(EvalRunFinished, listener)
    }
    assert.equal(run.status, 'succeeded')
    assert.equal(run.version, 1)
    assert.deepInclude(run, { total: 4, passed: 3, failed: 1, pass_rate: 0.75 })
    assert.deepEqual(
      run.results.map((r: any) => [r.case, r.passed]),
      [
        [1, true],
        [2, true],
        [3, true],
        [4, false],
      ]
    )
    assert.deepEqual(run.results[3].failures, ['The output is not "something else".'])
    assert.equal(run.results[0].output, 'Ships from Lyon')
    // Every case is a real run, charged like any other; the ledger still adds up.
    const runs = await db.from('runs').where('tenant_id', tenant.id).where('source', 'eval')
    assert.lengthOf(runs, 4)
    assert.sameMembers(
      runs.map((r) => r.id),
      run.results.map((r: any) => r.run_id)
    )
    assert.isTrue(runs.every((r) => r.status === 'succeeded' && Number(r.cost_micros) > 0))
    assert.deepEqual(await verifyLedger(tenant.id), [])
    assert.lengthOf(finished, 1)
    assert.deepInclude(finished[0].facts, { evalRunId: run.id, status: 'succeeded', passed: 3 })

    const list = await client
      .get(`/api/v1/eval-suites/${created.body().id}/runs`)
      .bearerToken(token)
    assert.deepEqual(
      list.body().data.map((r: any) => r.id),
      [run.id]
    )
  })

  test('two versions compared side by side: per case what was fixed, broken or changed', async ({
    client,
    assert,
  }) => {
    const { token } = await workspaceWithAgent(client)
    const suite = (
      await createSuite(client, token, {
        name: 'Lorem',
        cases: [
          { input: 'Say lorem', assertions: [{ type: 'contains', value: 'Lorem ipsum' }] },
          { input: 'Say hello', assertions: [{ type: 'contains', value: 'hello' }] },
        ],
      })
    ).body()
    // Version 2 answers lorem ipsum instead of echoing.
    ;(
      await client
        .patch('/api/v1/agents/echo')
        .bearerToken(token)
        .json({ model: 'simulator/lorem' })
    ).assertStatus(200)
    const first = await evaluate(client, token, suite.id, { version: 1 })
    const second = await evaluate(client, token, suite.id)
    assert.equal(first.version, 1)
    assert.equal(second.version, 2)
    assert.deepEqual(
      first.results.map((r: any) => r.passed),
      [false, true]
    )
    assert.deepEqual(
      second.results.map((r: any) => r.passed),
      [true, false]
    )
    const comparison = await client
      .get(`/api/v1/eval-runs/${first.id}/comparison`)
      .qs({ with: second.id })
      .bearerToken(token)
    comparison.assertStatus(200)
    const body = comparison.body()
    assert.deepEqual(
      body.cases.map((c: any) => c.change),
      ['fixed', 'broken']
    )
    assert.equal(body.a.version, 1)
    assert.equal(body.b.version, 2)
    assert.equal(body.cases[1].a.output, 'Say hello')
    assert.match(body.cases[1].b.output, /^Lorem ipsum/)
    assert.isNumber(body.cases[0].b.cost_credits)
    assert.isNumber(body.cases[0].b.latency_ms)

    const other = (
      await createSuite(client, token, {
        name: 'Other',
        cases: [{ input: 'x', assertions: [{ type: 'contains', value: 'x' }] }],
      })
    ).body()
    const elsewhere = await evaluate(client, token, other.id)
    const mixed = await client
      .get(`/api/v1/eval-runs/${first.id}/comparison`)
      .qs({ with: elsewhere.id })
      .bearerToken(token)
    mixed.assertStatus(422)
    assert.equal(mixed.body().errors[0].field, 'with')
  })

  test('bad suites and versions are refused on their field; names are unique per agent', async ({
    client,
    assert,
  }) => {
    const { token } = await workspaceWithAgent(client)
    const cases = SUITE.cases
    for (const [body, field] of [
      [{ name: 'A', cases: [] }, 'cases'],
      [{ name: '', cases }, 'name'],
      [
        { name: 'A', cases: [{ input: '', assertions: [{ type: 'contains', value: 'x' }] }] },
        'cases.0.input',
      ],
      [
        { name: 'A', cases: [{ input: 'x', assertions: [{ type: 'regex', value: '[' }] }] },
        'cases.0.assertions.0.value',
      ],
      [
        { name: 'A', cases: [{ input: 'x', assertions: [{ type: 'vibes', value: 1 }] }] },
        'cases.0.assertions.0.type',
      ],
      [{ name: 'A', cases: Array.from({ length: 101 }, () => cases[0]) }, 'cases'],
    ] as const) {
      const refused = await createSuite(client, token, body)
      refused.assertStatus(422)
      assert.equal(refused.body().errors[0].field, field, JSON.stringify(body).slice(0, 80))
    }
    const suite = (await createSuite(client, token)).body()
    const again = await createSuite(client, token)
    again.assertStatus(422)
    assert.equal(again.body().errors[0].field, 'name')
    const version = await client
      .post(`/api/v1/eval-suites/${suite.id}/runs`)
      .bearerToken(token)
      .json({ version: 7 })
    version.assertStatus(422)
    assert.equal(version.body().errors[0].field, 'version')
    assert.lengthOf(await db.from('eval_runs').where('suite_id', suite.id), 0)
  })

  test('without credits the evaluation stops failed, saying why; nothing is charged', async ({
    client,
    assert,
  }) => {
    const { tenant, token } = await workspaceWithAgent(client, null)
    const suite = (await createSuite(client, token)).body()
    const run = await evaluate(client, token, suite.id)
    assert.equal(run.status, 'failed')
    assert.match(run.error, /^Case 1: needs .* credits, 0 available/)
    assert.deepEqual(run.results, [])
    const charges = await db
      .from('ledger_entries')
      .where('tenant_id', tenant.id)
      .where('kind', 'charge')
    assert.lengthOf(charges, 0)
  })

  test("another workspace's suites and evaluations are 404 everywhere; a read-only token cannot start one", async ({
    client,
    assert,
  }) => {
    const mine = await workspaceWithAgent(client)
    const suite = (await createSuite(client, mine.token)).body()
    const run = await evaluate(client, mine.token, suite.id)
    const other = await workspaceWithAgent(client)
    for (const [method, url] of [
      ['get', `/api/v1/eval-suites/${suite.id}`],
      ['get', `/api/v1/eval-suites/${suite.id}/runs`],
      ['post', `/api/v1/eval-suites/${suite.id}/runs`],
      ['get', `/api/v1/eval-runs/${run.id}`],
      ['get', `/api/v1/eval-runs/${run.id}/comparison?with=${run.id}`],
      ['get', `/api/v1/eval-suites/not-a-uuid`],
    ] as const) {
      const response = await (client as any)[method](url).bearerToken(other.token).json({})
      assert.equal(response.status(), 404, `${method} ${url}`)
    }
    const otherRun = await evaluate(
      client,
      other.token,
      (await createSuite(client, other.token)).body().id
    )
    ;(
      await client
        .get(`/api/v1/eval-runs/${otherRun.id}/comparison`)
        .qs({ with: run.id })
        .bearerToken(other.token)
    ).assertStatus(404)
    // The other workspace's agent list of suites holds only its own.
    const theirs = await client.get('/api/v1/agents/echo/eval-suites').bearerToken(other.token)
    assert.notInclude(
      theirs.body().data.map((s: any) => s.id),
      suite.id
    )
    const { ApiTokenFactory } = await import('#database/factories/api_token_factory')
    const reader = await ApiTokenFactory.create(mine.owner, mine.tenant.id, [
      'agents:read',
      'runs:read',
    ])
    ;(
      await client.post(`/api/v1/eval-suites/${suite.id}/runs`).bearerToken(reader).json({})
    ).assertStatus(403)
    ;(await createSuite(client, reader)).assertStatus(403)
    ;(await client.get(`/api/v1/eval-runs/${run.id}`).bearerToken(reader)).assertStatus(200)
  })

  test('agent:eval prints the pass rate and exits 1 below --min-pass', async ({
    client,
    assert,
  }) => {
    const { tenant, token } = await workspaceWithAgent(client)
    await createSuite(client, token)
    const passing = await runCommand(AgentEval, [
      tenant.slug,
      'echo',
      '--suite=Smoke',
      '--min-pass=0.75',
    ])
    assert.equal(passing.exitCode, 0, passing.stderr)
    assert.equal(passing.stdout.trim(), 'pass_rate=0.75 passed=3 failed=1')
    assert.include(passing.stderr, 'case 4: FAILED')
    const failing = await runCommand(AgentEval, [
      tenant.slug,
      'echo',
      '--suite=Smoke',
      '--min-pass=0.9',
    ])
    assert.equal(failing.exitCode, 1)
    assert.equal(failing.stdout.trim(), 'pass_rate=0.75 passed=3 failed=1')
    assert.include(failing.stderr, 'below --min-pass 0.9')
    const unknown = await runCommand(AgentEval, [tenant.slug, 'echo', '--suite=Nope'])
    assert.equal(unknown.exitCode, 1)
    assert.include(unknown.stderr, 'no suite "Nope"')
  })
})
