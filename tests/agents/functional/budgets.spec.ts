import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { alertsIdle, balanceOf, hold, refund, settle, verifyLedger } from '#credits'
import { spentByBudget } from '#credits/services/budgets'
import { randomUUID } from 'node:crypto'
import { createAgent } from '#agents'
import AgentRun from '#agents/commands/agent_run'
import { evaluationsIdle } from '#agents/actions/evaluations'
import { runCommand } from '#tests/helpers/ace'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { MembershipFactory } from '#database/factories/tenant_factory'
import { UserFactory } from '#database/factories/user_factory'
import { ApiTokenFactory } from '#database/factories/api_token_factory'

const echo = { name: 'Echo', slug: 'echo', instructions: 'Repeat.', model: 'simulator/echo' }
const AGENT_BUDGET = /monthly budget of agent "echo" would be exceeded/
const MEMBER_BUDGET = /monthly budget of this member would be exceeded/

/** A workspace with credits, the echo agent and the owner's token. */
async function workspace(client: any) {
  const made = await WorkspaceFactory.create({ grant: 1_000_000_000n, token: true })
  const agent = await client.post('/api/v1/agents').bearerToken(made.token).json(echo)
  agent.assertStatus(201)
  return { ...made, agentId: agent.body().id as string }
}

async function putBudgets(client: any, token: string, body: object) {
  const response = await client.put('/api/v1/budgets').bearerToken(token).json(body)
  response.assertStatus(200)
  return response.body()
}

async function runCount(tenantId: string) {
  const row = await db.from('runs').where('tenant_id', tenantId).count('* as n').first()
  return Number(row.n)
}

test.group('agents / budgets on every run entry point', () => {
  test('GET/PUT /api/v1/budgets round-trips limits; bad ids, amounts and foreign agents are 422', async ({
    client,
    assert,
  }) => {
    const { token, owner, agentId } = await workspace(client)
    const saved = await putBudgets(client, token, {
      members: { [owner.id]: '12.5' },
      agents: { [agentId]: 3 },
      low_balance: '2',
    })
    assert.deepEqual(saved, {
      members: { [owner.id]: '12.5' },
      agents: { [agentId]: '3' },
      low_balance: '2',
    })
    const shown = await client.get('/api/v1/budgets').bearerToken(token)
    assert.deepEqual(shown.body(), saved)

    const other = await workspace(client)
    const bad = [
      [{ agents: { [other.agentId]: '1' } }, `agents.${other.agentId}`],
      [{ members: { [other.owner.id]: '1' } }, `members.${other.owner.id}`],
      [{ agents: { 'not-an-id': '1' } }, 'agents.not-an-id'],
      [{ agents: { [agentId]: '-1' } }, `agents.${agentId}`],
      [{ agents: { [agentId]: 'lots' } }, `agents.${agentId}`],
      [{ agents: [] }, 'agents'],
      [{ low_balance: '0' }, 'low_balance'],
    ] as const
    for (const [body, field] of bad) {
      const response = await client.put('/api/v1/budgets').bearerToken(token).json(body)
      response.assertStatus(422)
      assert.equal(response.body().errors[0].field, field, JSON.stringify(body))
    }
    // Nothing changed by the refusals; PUT replaces the whole set.
    assert.deepEqual((await client.get('/api/v1/budgets').bearerToken(token)).body(), saved)
    assert.deepEqual(await putBudgets(client, token, {}), {
      members: {},
      agents: {},
      low_balance: '2',
    })
  })

  test('members may read budgets but not change them; a credits:read token may not either', async ({
    client,
  }) => {
    const { tenant, owner } = await workspace(client)
    const member = await UserFactory.create()
    await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: member.id,
      role: 'member',
    }).create()
    const memberToken = await ApiTokenFactory.create(member, tenant.id)
    ;(await client.get('/api/v1/budgets').bearerToken(memberToken)).assertStatus(200)
    ;(await client.put('/api/v1/budgets').bearerToken(memberToken).json({})).assertStatus(403)
    const readOnly = await ApiTokenFactory.create(owner, tenant.id, ['credits:read'])
    ;(await client.put('/api/v1/budgets').bearerToken(readOnly).json({})).assertStatus(403)
  })

  test('an agent budget refuses API, SSE, chat-completions, CLI and evaluation runs with 403 naming it', async ({
    client,
    assert,
  }) => {
    const { tenant, token, agentId } = await workspace(client)
    // The first run fits; its spend plus the next run's worst case does not.
    const first = await client
      .post('/api/v1/agents/echo/runs')
      .bearerToken(token)
      .json({ input: 'hi' })
    first.assertStatus(201)
    const spent = BigInt(Math.round(Number(first.body().cost_credits) * 1e6))
    const limit = Number(spent + 100n) / 1e6
    await putBudgets(client, token, { agents: { [agentId]: String(limit) } })
    const runsBefore = await runCount(tenant.id)
    const balanceBefore = await balanceOf(tenant.id)

    const api = await client
      .post('/api/v1/agents/echo/runs')
      .bearerToken(token)
      .json({ input: 'hi' })
    api.assertStatus(403)
    assert.match(api.body().detail, AGENT_BUDGET)
    assert.equal(api.header('content-type'), 'application/problem+json; charset=utf-8')

    const sse = await client
      .post('/api/v1/agents/echo/runs')
      .bearerToken(token)
      .header('accept', 'text/event-stream')
      .json({ input: 'hi' })
    sse.assertStatus(403)
    assert.match(sse.body().detail, AGENT_BUDGET)

    const chat = await client
      .post('/api/v1/chat/completions')
      .bearerToken(token)
      .json({ model: 'agent:echo', messages: [{ role: 'user', content: 'hi' }] })
    chat.assertStatus(403)
    assert.match(chat.body().error.message, AGENT_BUDGET)

    const cli = await runCommand(AgentRun, [tenant.slug, 'echo', 'hi'])
    assert.notEqual(cli.exitCode, 0)
    assert.match(cli.stderr, AGENT_BUDGET)

    const suite = await client
      .post('/api/v1/agents/echo/eval-suites')
      .bearerToken(token)
      .json({
        name: 'S',
        cases: [{ input: 'hi', assertions: [{ type: 'contains', value: 'hi' }] }],
      })
    suite.assertStatus(201)
    const started = await client
      .post(`/api/v1/eval-suites/${suite.body().id}/runs`)
      .bearerToken(token)
      .json({})
    started.assertStatus(202)
    await evaluationsIdle()
    const evaluated = await client.get(`/api/v1/eval-runs/${started.body().id}`).bearerToken(token)
    assert.equal(evaluated.body().passed, 0)
    assert.equal(evaluated.body().status, 'failed')
    assert.match(evaluated.body().error, AGENT_BUDGET)

    // Nothing was run or charged by the refusals.
    assert.equal(await runCount(tenant.id), runsBefore)
    const after = await balanceOf(tenant.id)
    assert.equal(after.balance, balanceBefore.balance)
    assert.equal(after.held, 0n)
    assert.deepEqual(await verifyLedger(tenant.id), [])

    // Raising the budget lets runs through again.
    await putBudgets(client, token, { agents: { [agentId]: '100' } })
    ;(
      await client.post('/api/v1/agents/echo/runs').bearerToken(token).json({ input: 'hi' })
    ).assertStatus(201)
  })

  test('a member budget refuses that member everywhere (workflows too) but not other members', async ({
    client,
    assert,
  }) => {
    const { tenant, token, owner } = await workspace(client)
    await createAgent({
      tenantId: tenant.id,
      actorId: owner.id,
      name: 'Beta',
      slug: 'beta',
      instructions: 'Repeat.',
      model: 'simulator/echo',
    })
    const flow = await client
      .post('/api/v1/workflows')
      .bearerToken(token)
      .json({ name: 'Flow', steps: [{ agent: 'beta', input: '{{input}}' }] })
    flow.assertStatus(201)
    await putBudgets(client, token, { members: { [owner.id]: '0.000001' } })

    const run = await client
      .post('/api/v1/agents/echo/runs')
      .bearerToken(token)
      .json({ input: 'hi' })
    run.assertStatus(403)
    assert.match(run.body().detail, MEMBER_BUDGET)
    const workflow = await client
      .post(`/api/v1/workflows/${flow.body().slug}/runs`)
      .bearerToken(token)
      .json({ input: 'hi' })
    workflow.assertStatus(403)
    assert.match(workflow.body().detail, MEMBER_BUDGET)

    const colleague = await UserFactory.create()
    await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: colleague.id,
      role: 'member',
    }).create()
    const theirs = await client
      .post('/api/v1/agents/echo/runs')
      .bearerToken(await ApiTokenFactory.create(colleague, tenant.id))
      .json({ input: 'hi' })
    theirs.assertStatus(201)
  })

  test('concurrent runs never spend past a budget: holds count against it while pending', async ({
    client,
    assert,
  }) => {
    const { tenant, token, agentId } = await workspace(client)
    const probe = await client
      .post('/api/v1/agents/echo/runs')
      .bearerToken(token)
      .json({ input: 'x' })
    const holdOfOne = BigInt(
      (await db.from('runs').where('id', probe.body().id).first()).hold_micros
    )
    // Room for exactly three more worst cases on top of what was spent.
    const spent = BigInt(Math.round(Number(probe.body().cost_credits) * 1e6))
    await putBudgets(client, token, {
      agents: { [agentId]: String(Number(spent + 3n * holdOfOne) / 1e6) },
    })
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        client.post('/api/v1/agents/echo/runs').bearerToken(token).json({ input: 'x' })
      )
    )
    const statuses = results.map((r) => r.status()).sort()
    assert.deepEqual(statuses, [201, 201, 201, 403, 403, 403, 403, 403])
    assert.deepEqual(await verifyLedger(tenant.id), [])
  })

  test("a member budget's alert names the member and reaches them, with the owners and admins; not other members", async ({
    client,
    assert,
  }) => {
    const { tenant, token: ownerToken, owner } = await workspace(client)
    const tiny = await client
      .post('/api/v1/agents')
      .bearerToken(ownerToken)
      .json({ ...echo, name: 'Tiny', slug: 'tiny', max_tokens: 1 })
    tiny.assertStatus(201)
    const member = await UserFactory.merge({ name: 'Budgeted Member' }).create()
    await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: member.id,
      role: 'member',
    }).create()
    const bystander = await UserFactory.create()
    await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: bystander.id,
      role: 'member',
    }).create()
    const token = await ApiTokenFactory.create(member, tenant.id, [])
    const run = () =>
      client.post('/api/v1/agents/tiny/runs').bearerToken(token).json({ input: 'x' })
    const probe = await run()
    probe.assertStatus(201)
    const cost = Number(probe.body().cost_credits)
    // The member's next run takes their month's spend over half of a limit of 3 runs' cost.
    await putBudgets(client, ownerToken, { members: { [member.id]: String(cost * 3) } })
    ;(await run()).assertStatus(201)
    await alertsIdle()

    const notes = await db
      .from('notifications')
      .where('tenant_id', tenant.id)
      .where('kind', 'budget.threshold')
      .select('user_id', 'title', 'body')
    assert.sameMembers(
      notes.map((n) => n.user_id),
      [owner.id, member.id]
    )
    for (const note of notes) {
      assert.equal(note.title, 'A monthly member budget reached 50 %')
      assert.include(note.body, 'Budgeted Member has spent')
    }
  })

  test('alerts at 50 and 80 % and the low-balance alert reach owners and admins once, in the app and by email', async ({
    client,
    assert,
  }) => {
    const { tenant, token, owner } = await workspace(client)
    // One output token at most: a run's hold is close to its cost, so spend can approach the limit.
    const tiny = await client
      .post('/api/v1/agents')
      .bearerToken(token)
      .json({ ...echo, name: 'Tiny', slug: 'tiny', max_tokens: 1 })
    tiny.assertStatus(201)
    const run = () =>
      client.post('/api/v1/agents/tiny/runs').bearerToken(token).json({ input: 'x' })
    const probe = await run()
    const cost = BigInt(Math.round(Number(probe.body().cost_credits) * 1e6))
    const hold = BigInt((await db.from('runs').where('id', probe.body().id).first()).hold_micros)
    // Two more runs fit (3 × cost spent, over 80 % of the limit); a third is refused.
    const limit = 2n * cost + hold
    assert.isAbove(Number(3n * cost * 100n) / Number(limit), 80)
    await putBudgets(client, token, {
      agents: { [tiny.body().id]: String(Number(limit) / 1e6) },
      low_balance: '999999999',
    })
    const admin = await UserFactory.create()
    await MembershipFactory.merge({ tenantId: tenant.id, userId: admin.id, role: 'admin' }).create()
    const viewer = await UserFactory.create()
    await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: viewer.id,
      role: 'viewer',
    }).create()

    for (const expected of [201, 201, 403, 403]) {
      ;(await run()).assertStatus(expected)
      await alertsIdle()
    }

    const alerts = await db
      .from('budget_alerts')
      .where('tenant_id', tenant.id)
      .orderBy(['subject', 'threshold'])
      .select('subject', 'threshold')
    assert.deepEqual(alerts, [
      { subject: `agent:${tiny.body().id}`, threshold: 50 },
      { subject: `agent:${tiny.body().id}`, threshold: 80 },
      { subject: 'low_balance', threshold: 0 },
    ])
    const notes = await db
      .from('notifications')
      .where('tenant_id', tenant.id)
      .orderBy('created_at')
      .select('user_id', 'kind', 'title')
    const of = (userId: string) => notes.filter((n) => n.user_id === userId)
    assert.deepEqual(
      of(owner.id)
        .map((n) => n.title)
        .sort(),
      [
        'A monthly agent budget reached 50 %',
        'A monthly agent budget reached 80 %',
        'Credits are running low',
      ]
    )
    assert.lengthOf(of(admin.id), 3)
    assert.lengthOf(of(viewer.id), 0, 'viewers get no alerts')

    // The alert mails went out (the development mailbox), one per notification.
    const mails = await db.from('dev_mailbox').where('to', owner.email).select('subject')
    assert.includeMembers(
      mails.map((m) => m.subject),
      ['Credits are running low', 'A monthly agent budget reached 80 %']
    )

    // The API lists them for the token's tenant, and marks one read; another user's is a 404.
    const listed = await client.get('/api/v1/notifications').bearerToken(token)
    listed.assertStatus(200)
    assert.lengthOf(listed.body().data, 3)
    const first = listed.body().data[0]
    assert.isFalse(first.read)
    const marked = await client
      .patch(`/api/v1/notifications/${first.id}`)
      .bearerToken(token)
      .json({ read: true })
    marked.assertStatus(200)
    assert.isTrue(marked.body().read)
    ;(
      await client
        .patch(`/api/v1/notifications/${first.id}`)
        .bearerToken(await ApiTokenFactory.create(admin, tenant.id))
        .json({ read: true })
    ).assertStatus(404)
    ;(
      await client
        .patch(`/api/v1/notifications/${first.id}`)
        .bearerToken(token)
        .json({ read: false })
    ).assertStatus(422)
  })

  test('a member of two workspaces gets the low-balance alert of each', async ({
    client,
    assert,
  }) => {
    const first = await workspace(client)
    const second = await WorkspaceFactory.create({
      owner: first.owner,
      name: 'Second',
      grant: 1_000_000_000n,
      token: true,
    })
    ;(await client.post('/api/v1/agents').bearerToken(second.token).json(echo)).assertStatus(201)
    for (const token of [first.token, second.token]) {
      await putBudgets(client, token, { low_balance: '999999999' })
      ;(
        await client.post('/api/v1/agents/echo/runs').bearerToken(token).json({ input: 'x' })
      ).assertStatus(201)
      await alertsIdle()
    }
    const lows = await db
      .from('notifications')
      .where('user_id', first.owner.id)
      .where('kind', 'credits.low')
      .select('tenant_id')
    assert.sameMembers(
      lows.map((n) => n.tenant_id),
      [first.tenant.id, second.tenant.id]
    )
  })

  test('a refund counts in the period of its charge: refunding an earlier charge makes no room now', async ({
    assert,
  }) => {
    const { tenant, owner } = await WorkspaceFactory.create({ grant: 1_000_000_000n })
    const agentId = randomUUID()
    const spend = async () =>
      await hold({ tenantId: tenant.id, amount: 1000n, memberId: owner.id, agentId })
    const first = await settle(await spend(), 600n)
    const between = new Date((await db.rawQuery('SELECT clock_timestamp() AS t')).rows[0].t)
    await settle(await spend(), 300n)
    await refund({ tenantId: tenant.id, chargeId: first.entryId!, reason: 'sorry' })
    const used = async (since: Date) =>
      (await spentByBudget(db, tenant.id, { members: [], agents: [agentId] }, since, false)).get(
        `agent:${agentId}`
      )
    // From the start: both charges, less the refund of the first.
    assert.equal(await used(new Date(0)), 300n)
    // From between the two charges: the second only; the first one's refund is not this period's.
    assert.equal(await used(between), 300n)
  })
})
