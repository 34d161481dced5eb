import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { balanceOf } from '#credits'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { parseSse } from '#tests/helpers/agents'

/** Sum of the steps' costs in micro-credits (the run's cost must equal it). */
function stepsMicros(run: any) {
  return run.steps.reduce(
    (sum: bigint, step: any) => sum + BigInt(Math.round(Number(step.cost_credits) * 1e6)),
    0n
  )
}
const microsOf = (credits: string) => BigInt(Math.round(Number(credits) * 1e6))

test.group('agents / tools: the tool loop', () => {
  test('a calculator call runs here, its result goes back to the model, every step is recorded and the steps add up to the charge', async ({
    client,
    assert,
  }) => {
    const { tenant, token } = await WorkspaceFactory.create({ grant: 1_000_000n, token: true })
    ;(
      await client
        .post('/api/v1/agents')
        .bearerToken(token)
        .json({
          name: 'Calc',
          instructions: 'Use tools.',
          model: 'simulator/echo',
          tools: ['calculator', 'current_time'],
        })
    ).assertStatus(201)
    const response = await client
      .post('/api/v1/agents/calc/runs')
      .bearerToken(token)
      .json({ input: '/tool calculator {"expression": "2 + 3 * 4"}' })
    response.assertStatus(201)
    const run = response.body()
    assert.equal(run.status, 'succeeded')
    assert.equal(run.output, 'calculator → {"result":14}')
    assert.deepEqual(
      run.steps.map((s: any) => [s.kind, s.name, s.status]),
      [
        ['model_call', 'simulator/echo', 'succeeded'],
        ['tool_call', 'calculator', 'succeeded'],
        ['model_call', 'simulator/echo', 'succeeded'],
      ]
    )
    const tool = run.steps[1]
    assert.equal(tool.input, '{"expression": "2 + 3 * 4"}')
    assert.equal(tool.output, '{"result":14}')
    assert.equal(tool.cost_credits, '0')
    assert.isNumber(tool.duration_ms)
    assert.equal(stepsMicros(run), microsOf(run.cost_credits))
    assert.isAbove(run.steps[2].input_tokens, run.steps[0].input_tokens)
    const balance = await balanceOf(tenant.id)
    assert.equal(BigInt(balance.held), 0n)
    assert.equal(BigInt(balance.balance), 1_000_000n - microsOf(run.cost_credits))
  })

  test('invalid arguments and a failing tool come back to the model as tool errors, not a crash', async ({
    client,
    assert,
  }) => {
    const { token } = await WorkspaceFactory.create({ grant: 1_000_000n, token: true })
    await client
      .post('/api/v1/agents')
      .bearerToken(token)
      .json({ name: 'Calc', instructions: 'x', model: 'simulator/echo', tools: ['calculator'] })
    const invalid = await client
      .post('/api/v1/agents/calc/runs')
      .bearerToken(token)
      .json({ input: '/tool calculator {not json' })
    assert.equal(invalid.body().status, 'succeeded')
    assert.equal(invalid.body().steps[1].status, 'failed')
    assert.match(invalid.body().output, /^calculator → \{"error":".*JSON/)
    const failing = await client
      .post('/api/v1/agents/calc/runs')
      .bearerToken(token)
      .json({ input: '/tool calculator {"expression": "1 / 0"}' })
    assert.equal(failing.body().status, 'succeeded')
    assert.equal(failing.body().steps[1].status, 'failed')
    assert.match(failing.body().steps[1].output, /error/)
  })

  test('three calls in one turn (the bench variant): each runs as a step, all results go back in one model call', async ({
    client,
    assert,
  }) => {
    const { token } = await WorkspaceFactory.create({ grant: 1_000_000n, token: true })
    const created = await client
      .post('/api/v1/agents')
      .bearerToken(token)
      .json({ name: 'Calc', instructions: 'x', model: 'simulator/echo', tools: ['calculator'] })
    created.assertStatus(201)
    const input = ['1+1', '2*3', '2^10']
      .map((e) => `/tool calculator {"expression":"${e}"}`)
      .join('\n')
    const run = (
      await client.post('/api/v1/agents/calc/runs').bearerToken(token).json({ input })
    ).body()
    assert.equal(run.status, 'succeeded')
    assert.equal(
      run.output,
      ['{"result":2}', '{"result":6}', '{"result":1024}'].map((r) => `calculator → ${r}`).join('\n')
    )
    assert.deepEqual(
      run.steps.map((s: any) => s.kind),
      ['model_call', 'tool_call', 'tool_call', 'tool_call', 'model_call']
    )
    assert.equal(stepsMicros(run), microsOf(run.cost_credits))
  })

  test("current_time answers in the workspace's time zone", async ({ client, assert }) => {
    const { tenant, token } = await WorkspaceFactory.create({ grant: 1_000_000n, token: true })
    await db.from('tenants').where('id', tenant.id).update({ time_zone: 'Asia/Tokyo' })
    const created = await client
      .post('/api/v1/agents')
      .bearerToken(token)
      .json({ name: 'Clock', instructions: 'x', model: 'simulator/echo', tools: ['current_time'] })
    created.assertStatus(201)
    const run = (
      await client
        .post('/api/v1/agents/clock/runs')
        .bearerToken(token)
        .json({ input: '/tool current_time {}' })
    ).body()
    const result = JSON.parse(run.steps[1].output)
    assert.equal(result.time_zone, 'Asia/Tokyo')
    assert.match(result.iso, /\+09:00$/)
  })

  test('the loop stops after max_steps model calls', async ({ client, assert }) => {
    const { tenant, token } = await WorkspaceFactory.create({ grant: 1_000_000n, token: true })
    // An agent that hands off to one that hands back: the loop would never end.
    ;(
      await client
        .post('/api/v1/agents')
        .bearerToken(token)
        .json({ name: 'Pong', instructions: 'x', model: 'simulator/echo' })
    ).assertStatus(201)
    ;(
      await client
        .post('/api/v1/agents')
        .bearerToken(token)
        .json({
          name: 'Ping',
          instructions: 'x',
          model: 'simulator/echo',
          tools: [{ type: 'agent', agent: 'pong' }],
          max_steps: 3,
        })
    ).assertStatus(201)
    ;(
      await client
        .patch('/api/v1/agents/pong')
        .bearerToken(token)
        .json({ tools: [{ type: 'agent', agent: 'ping' }] })
    ).assertStatus(200)
    const response = await client
      .post('/api/v1/agents/ping/runs')
      .bearerToken(token)
      .json({ input: '/handoff pong /handoff ping /handoff pong /handoff ping hi' })
    const run = response.body()
    assert.equal(run.status, 'failed')
    assert.equal(run.error.title, 'Too many steps')
    assert.equal(run.error_type, 'max_steps')
    assert.equal(run.steps.filter((s: any) => s.kind === 'model_call').length, 3)
    assert.equal(stepsMicros(run), microsOf(run.cost_credits))
    assert.equal(BigInt((await balanceOf(tenant.id)).held), 0n)
  })

  test('a handoff chain: the handed-to agents answer within the same run, their steps nested under the handoffs', async ({
    client,
    assert,
  }) => {
    const { token } = await WorkspaceFactory.create({ grant: 1_000_000n, token: true })
    for (const [name, tools] of [
      ['Third', []],
      ['Second', [{ type: 'agent', agent: 'third' }]],
      ['First', [{ type: 'agent', agent: 'second' }]],
    ] as const) {
      const created = await client
        .post('/api/v1/agents')
        .bearerToken(token)
        .json({ name, instructions: `I am ${name}.`, model: 'simulator/echo', tools })
      created.assertStatus(201)
    }
    const response = await client
      .post('/api/v1/agents/first/runs')
      .bearerToken(token)
      .header('accept', 'text/event-stream')
      .json({ input: '/handoff second /handoff third bonjour' })
    const events = parseSse(response.text())
    const done = JSON.parse(events.find((e) => e.event === 'done')!.data)
    assert.equal(done.status, 'succeeded')
    assert.equal(done.output, 'bonjour')
    const handoffs = done.steps.filter((s: any) => s.kind === 'handoff')
    assert.deepEqual(
      handoffs.map((s: any) => [s.name, s.input]),
      [
        ['second', '/handoff third bonjour'],
        ['third', 'bonjour'],
      ]
    )
    const last = done.steps.at(-1)
    assert.equal(last.kind, 'model_call')
    assert.equal(last.parent, handoffs[1].position)
    assert.equal(handoffs[1].parent, handoffs[0].position)
    assert.equal(stepsMicros(done), microsOf(done.cost_credits))
    assert.deepEqual(
      events.filter((e) => e.event === 'step').map((e) => JSON.parse(e.data).kind),
      ['handoff', 'handoff']
    )
    assert.equal(
      events
        .filter((e) => e.event === 'delta')
        .map((e) => JSON.parse(e.data).text)
        .join(''),
      done.output
    )
  })

  test('tools are checked on save: unknown names, handoffs to missing agents or to itself are 422 on the entry', async ({
    client,
    assert,
  }) => {
    const { token } = await WorkspaceFactory.create({ token: true })
    const base = { name: 'A', slug: 'a', instructions: 'x', model: 'simulator/echo' }
    for (const [tools, message] of [
      [['calculator', 'rm_rf'], /Unknown tool "rm_rf"/],
      [[{ type: 'agent', agent: 'nobody' }], /No agent "nobody"/],
      [[{ type: 'agent', agent: 'a' }], /itself/],
      [['calculator', 'calculator'], /twice/],
      [[42], /built-in name/],
    ] as const) {
      const response = await client
        .post('/api/v1/agents')
        .bearerToken(token)
        .json({ ...base, tools })
      response.assertStatus(422)
      const error = response.body().errors[0]
      assert.match(error.field, /^tools\.\d$/)
      assert.match(error.message, message)
    }
  })
})

test.group('agents / tools: the http_request allow-list over the API', () => {
  test('owners replace it (normalised), bad entries are 422 on the entry, members may read but not write, and a run only reaches listed hosts', async ({
    client,
    assert,
  }) => {
    const { tenant, token } = await WorkspaceFactory.create({ grant: 1_000_000n, token: true })
    const empty = await client.get('/api/v1/tool-settings').bearerToken(token)
    assert.deepEqual(empty.body(), { http_allowed_hosts: [] })
    const saved = await client
      .put('/api/v1/tool-settings')
      .bearerToken(token)
      .json({ http_allowed_hosts: ['API.Example.com', '*.example.org', 'api.example.com', ''] })
    saved.assertStatus(200)
    assert.deepEqual(saved.body().http_allowed_hosts, ['api.example.com', '*.example.org'])
    const bad = await client
      .put('/api/v1/tool-settings')
      .bearerToken(token)
      .json({ http_allowed_hosts: ['ok.example.com', 'not a host'] })
    bad.assertStatus(422)
    assert.equal(bad.body().errors[0].field, 'http_allowed_hosts.1')
    assert.deepEqual(
      (await client.get('/api/v1/tool-settings').bearerToken(token)).body().http_allowed_hosts,
      ['api.example.com', '*.example.org']
    )

    const { createApiToken, User } = await import('#auth')
    const { Membership } = await import('#tenants')
    const member = await User.create({
      email: `member-${tenant.id}@example.test`,
      name: 'M',
      password: 'correct horse battery staple',
    })
    await Membership.create({ tenantId: tenant.id, userId: member.id, role: 'member' })
    const memberToken = (
      await createApiToken({ user: member, tenantId: tenant.id, name: 't', abilities: [] })
    ).secret
    ;(await client.get('/api/v1/tool-settings').bearerToken(memberToken)).assertStatus(200)
    ;(
      await client
        .put('/api/v1/tool-settings')
        .bearerToken(memberToken)
        .json({ http_allowed_hosts: [] })
    ).assertStatus(403)

    // A host off the list is refused before any connection; the model is told why.
    const agent = await client
      .post('/api/v1/agents')
      .bearerToken(token)
      .json({ name: 'Web', instructions: 'x', model: 'simulator/echo', tools: ['http_request'] })
    agent.assertStatus(201)
    const run = await client
      .post('/api/v1/agents/web/runs')
      .bearerToken(token)
      .json({ input: '/tool http_request {"url": "http://169.254.169.254/latest/meta-data"}' })
    assert.equal(run.body().status, 'succeeded')
    assert.equal(run.body().steps[1].status, 'failed')
    assert.match(run.body().steps[1].output, /allow-list/)
  })
})
