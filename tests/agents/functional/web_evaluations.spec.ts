import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { createAgent, updateAgent } from '#agents/actions/save_agent'
import {
  createSuite,
  evaluate,
  evaluationsIdle,
  startEvaluation,
} from '#agents/actions/evaluations'
import { signedIn } from '#tests/helpers/session'
import { UserFactory } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { MembershipFactory } from '#database/factories/tenant_factory'

const HTMX = { 'hx-request': 'true' }
const CASES = [
  { input: 'Ships from Lyon', assertions: [{ type: 'contains', value: 'Lyon' }] },
  { input: 'Say hello', assertions: [{ type: 'equals', value: 'Lorem' }] },
]

async function ownerWithAgent(client: any) {
  const workspace = await WorkspaceFactory.create({ grant: 1_000_000_000n })
  const { agent } = await createAgent({
    tenantId: workspace.tenant.id,
    actorId: workspace.owner.id,
    name: 'Echo',
    slug: 'echo',
    instructions: 'Repeat.',
    model: 'simulator/echo',
  })
  const web = await signedIn(client, workspace.owner)
  return { ...workspace, agent, web, base: `/t/${workspace.tenant.slug}` }
}

test.group('agents / web: evaluations', () => {
  test('an owner adds a suite on the page, runs it and reads the results; a running one polls', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant, agent } = await ownerWithAgent(client)
    const page = await web.get(`${base}/agents/echo`)
    assert.include(page.text(), `href="${base}/agents/echo/evaluations"`)
    const empty = await web.get(`${base}/agents/echo/evaluations`)
    empty.assertStatus(200)
    assert.include(empty.text(), 'No suites yet')

    const saved = await web.submit('POST', `${base}/agents/echo/evaluations`, {
      name: 'Smoke',
      cases: JSON.stringify(CASES),
    })
    saved.assertStatus(302)
    const list = await web.get(`${base}/agents/echo/evaluations`)
    assert.include(list.text(), 'Smoke')
    assert.include(list.text(), '2 cases')
    const suite = await db.from('eval_suites').where('tenant_id', tenant.id).firstOrFail()

    const started = await web.submit('POST', `${base}/agents/echo/evaluations/${suite.id}/runs`, {
      version: '1',
    })
    started.assertStatus(302)
    const location = started.header('location')!
    assert.match(location, new RegExp(`^${base}/eval-runs/[0-9a-f-]{36}$`))
    await evaluationsIdle()
    const results = await web.get(location)
    results.assertStatus(200)
    assert.include(results.text(), '1</strong> passed')
    assert.include(results.text(), 'The output is not &quot;Lorem&quot;.')
    assert.notInclude(results.text(), 'hx-trigger="every 1s"')
    const fragment = await web.get(location, HTMX)
    assert.match(fragment.text(), /^<section id="eval-run-results"/)

    // Not started yet: the fragment polls itself.
    const queued = await startEvaluation({ suite, actorId: null, queue: false })
    const live = await web.get(`${base}/eval-runs/${queued.id}`)
    assert.include(live.text(), 'hx-trigger="every 1s"')
    await evaluate(tenant.id, queued.id)
    assert.equal(agent.slug, 'echo')
  })

  test('malformed JSON and bad assertions are refused next to the cases with a friendly message', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant } = await ownerWithAgent(client)
    await web.get(`${base}/agents/echo/evaluations`)
    const notJson = await web.submit('POST', `${base}/agents/echo/evaluations`, {
      name: 'Broken',
      cases: '[{ input: nope',
    })
    notJson.assertStatus(422)
    assert.include(notJson.text(), 'The cases are not valid JSON')
    assert.include(notJson.text(), '[{ input: nope')
    const badRegex = await web.submit('POST', `${base}/agents/echo/evaluations`, {
      name: 'Broken',
      cases: JSON.stringify([{ input: 'x', assertions: [{ type: 'regex', value: '(' }] }]),
    })
    badRegex.assertStatus(422)
    assert.include(badRegex.text(), 'Case 1, assertions.0.value: Not a valid regular expression')
    assert.lengthOf(await db.from('eval_suites').where('tenant_id', tenant.id), 0)
  })

  test('two versions side by side: the comparison page marks what was fixed and broken', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant, agent, owner } = await ownerWithAgent(client)
    const suite = await createSuite({ agent, actorId: owner.id, name: 'Lorem', cases: CASES })
    const first = await startEvaluation({ suite, actorId: null, queue: false })
    await evaluate(tenant.id, first.id)
    await updateAgent(agent, { model: 'simulator/lorem' }, owner.id)
    const second = await startEvaluation({ suite, actorId: null, queue: false })
    await evaluate(tenant.id, second.id)
    const runPage = await web.get(`${base}/eval-runs/${first.id}`)
    assert.include(runPage.text(), `value="${second.id}"`)
    const compared = await web.get(`${base}/eval-runs/${first.id}/comparison?with=${second.id}`)
    compared.assertStatus(200)
    assert.include(compared.text(), 'v1 against v2')
    assert.include(compared.text(), 'data-change="broken"')
    assert.include(compared.text(), '<del>Ships from Lyon</del>')
  })

  test('a viewer reads suites and results but cannot add or run one', async ({
    client,
    assert,
  }) => {
    const { tenant, agent, owner } = await ownerWithAgent(client)
    const suite = await createSuite({ agent, actorId: owner.id, name: 'Smoke', cases: CASES })
    const viewer = await UserFactory.create()
    await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: viewer.id,
      role: 'viewer',
    }).create()
    const web = await signedIn(client, viewer)
    const base = `/t/${tenant.slug}`
    const page = await web.get(`${base}/agents/echo/evaluations`)
    page.assertStatus(200)
    assert.include(page.text(), 'Smoke')
    assert.notInclude(page.text(), 'Run suite')
    assert.notInclude(page.text(), 'Save suite')
    ;(
      await web.submit('POST', `${base}/agents/echo/evaluations/${suite.id}/runs`, {})
    ).assertStatus(403)
    ;(
      await web.submit('POST', `${base}/agents/echo/evaluations`, { name: 'x', cases: '[]' })
    ).assertStatus(403)
    assert.lengthOf(await db.from('eval_runs').where('tenant_id', tenant.id), 0)
  })
})
