import { test } from '@japa/runner'
import type { ApiClient } from '@japa/api-client'
import db from '@adonisjs/lucid/services/db'
import { formatCredits } from '#core'
import Run from '#agents/models/run'
import Workflow from '#agents/models/workflow'
import WorkflowVersion from '#agents/models/workflow_version'
import { createAgent } from '#agents/actions/save_agent'
import { runsIdle } from '#agents/services/run_executor'
import { createWorkflow } from '#agents/actions/save_workflow'
import { parseSse } from '#tests/helpers/agents'
import { signedIn } from '#tests/helpers/session'
import { UserFactory } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { MembershipFactory } from '#database/factories/tenant_factory'

const HTMX = { 'hx-request': 'true' }

/** An owner signed in to a workspace (with credits) holding two echo agents, `alpha` and `beta`. */
async function builderReady(client: ApiClient) {
  const workspace = await WorkspaceFactory.create({ grant: 1_000_000_000n })
  for (const [name, slug] of [
    ['Alpha', 'alpha'],
    ['Beta', 'beta'],
  ])
    await createAgent({
      tenantId: workspace.tenant.id,
      actorId: workspace.owner.id,
      name,
      slug,
      instructions: 'Repeat.',
      model: 'simulator/echo',
    })
  const web = await signedIn(client, workspace.owner)
  return { ...workspace, web, base: `/t/${workspace.tenant.slug}` }
}

/** The builder's fields for these steps (indexed names, as the page renders them). */
function stepFields(steps: { agent: string; input: string }[]) {
  const fields: Record<string, string> = {}
  steps.forEach((step, index) => {
    fields[`steps[${index}][agent]`] = step.agent
    fields[`steps[${index}][input]`] = step.input
  })
  return fields
}

const TWO_STEPS = [
  { agent: 'alpha', input: '{{input}}' },
  { agent: 'beta', input: 'Step two got: {{steps.1.output}}' },
]

async function versionsOf(workflowId: string) {
  return WorkflowVersion.query().where('workflowId', workflowId).orderBy('version')
}

test.group('agents / web: workflow pages', () => {
  test('the list is empty at first and offers to build one; the navigation links to it', async ({
    client,
    assert,
  }) => {
    const { web, base } = await builderReady(client)
    const page = await web.get(`${base}/workflows`)
    page.assertStatus(200)
    assert.include(page.text(), 'No workflows yet')
    assert.include(page.text(), `href="${base}/workflows/new"`)
    assert.include(page.text(), `<a href="${base}/workflows" aria-current="page">Workflows</a>`)
  })

  test('the builder renders one blank row with indexed names and every agent of the workspace', async ({
    client,
    assert,
  }) => {
    const { web, base } = await builderReady(client)
    const page = await web.get(`${base}/workflows/new`)
    page.assertStatus(200)
    const html = page.text()
    assert.include(html, 'name="steps[0][agent]"')
    assert.include(html, 'name="steps[0][input]"')
    assert.notInclude(html.replace(/<template[\s\S]*?<\/template>/, ''), 'name="steps[1][agent]"')
    assert.include(html, '<option value="alpha">Alpha (alpha)</option>')
    assert.include(html, '<option value="beta">Beta (beta)</option>')
    assert.include(html, 'x-data="workflowBuilder"')
  })

  test('creating through the form (no JavaScript) saves version 1 with the steps in order; blank rows are ignored', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant } = await builderReady(client)
    await web.get(`${base}/workflows/new`)
    const response = await web.submit('POST', `${base}/workflows`, {
      name: 'Pipeline',
      description: 'Two echoes',
      ...stepFields([...TWO_STEPS, { agent: '', input: '' }]),
    })
    response.assertStatus(302)
    assert.equal(response.header('location'), `${base}/workflows/pipeline`)
    const workflow = await Workflow.query().where('tenantId', tenant.id).firstOrFail()
    assert.deepInclude(workflow.serialize(), {
      slug: 'pipeline',
      name: 'Pipeline',
      description: 'Two echoes',
      currentVersion: 1,
    })
    const [version] = await versionsOf(workflow.id)
    assert.deepEqual(version.steps, TWO_STEPS)

    const page = await web.follow(response)
    const html = page.text()
    assert.include(html, 'Workflow &quot;Pipeline&quot; created.')
    assert.include(html, 'version 1')
    // The saved rows and one spare row, so a plain form can add a step.
    assert.include(html, '<option value="beta" selected>')
    assert.include(html, 'name="steps[2][agent]"')
    assert.include(html, 'Step two got: {{steps.1.output}}')
    assert.include(html, 'id="workflow-run-form"')
    assert.include((await web.get(`${base}/workflows`)).text(), 'alpha → beta')
  })

  test('an empty input template takes the default: the workflow input, then the previous output', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant } = await builderReady(client)
    await web.get(`${base}/workflows/new`)
    const response = await web.submit(
      'POST',
      `${base}/workflows`,
      {
        name: 'Defaults',
        slug: 'defaults',
        ...stepFields([
          { agent: 'alpha', input: '' },
          { agent: 'beta', input: '' },
        ]),
      },
      HTMX
    )
    response.assertStatus(204)
    assert.equal(response.header('hx-redirect'), `${base}/workflows/defaults`)
    const workflow = await Workflow.query().where('tenantId', tenant.id).firstOrFail()
    const [version] = await versionsOf(workflow.id)
    assert.deepEqual(version.steps, [
      { agent: 'alpha', input: '{{input}}' },
      { agent: 'beta', input: '{{steps.1.output}}' },
    ])
  })

  test('editing saves a new version (the old one is kept) and may reorder the steps and rename the slug', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant, owner } = await builderReady(client)
    const { workflow } = await createWorkflow({
      tenantId: tenant.id,
      actorId: owner.id,
      name: 'Pipeline',
      steps: TWO_STEPS,
    })
    await web.get(`${base}/workflows/pipeline`)
    const response = await web.submit('PUT', `${base}/workflows/pipeline`, {
      name: 'Pipeline two',
      slug: 'pipeline-two',
      ...stepFields([
        { agent: 'beta', input: 'First: {{input}}' },
        { agent: 'alpha', input: 'Then: {{steps.1.output}}' },
      ]),
    })
    response.assertStatus(302)
    assert.equal(response.header('location'), `${base}/workflows/pipeline-two`)
    const page = await web.follow(response)
    assert.include(page.text(), 'Saved as version 2.')
    assert.include(page.text(), 'version 2')

    await workflow.refresh()
    assert.equal(workflow.currentVersion, 2)
    assert.equal(workflow.slug, 'pipeline-two')
    const versions = await versionsOf(workflow.id)
    assert.deepEqual(
      versions.map((v) => v.steps),
      [
        TWO_STEPS,
        [
          { agent: 'beta', input: 'First: {{input}}' },
          { agent: 'alpha', input: 'Then: {{steps.1.output}}' },
        ],
      ]
    )
    ;(await web.get(`${base}/workflows/pipeline`)).assertStatus(404)
  })

  test('a step without an agent and a template that refers to a later step are refused next to their fields, with the input kept', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant } = await builderReady(client)
    await web.get(`${base}/workflows/new`)
    const response = await web.submit(
      'POST',
      `${base}/workflows`,
      {
        name: 'Broken',
        ...stepFields([
          { agent: 'alpha', input: 'Use {{steps.2.output}}' },
          { agent: '', input: 'Typed template' },
        ]),
      },
      HTMX
    )
    response.assertStatus(422)
    const html = response.text()
    assert.notInclude(html, '<html')
    assert.include(html, 'id="workflow-form"')
    assert.include(html, 'id="field-steps-0-input-error"')
    assert.include(html, 'Step 1 can use {{input}}, not step 2.')
    assert.include(html, 'id="field-steps-1-agent-error"')
    assert.include(html, 'Choose an agent for this step.')
    assert.include(html, 'value="Broken"')
    assert.include(html, 'Typed template</textarea>')
    assert.include(html, 'Use {{steps.2.output}}</textarea>')
    assert.lengthOf(await Workflow.query().where('tenantId', tenant.id), 0)

    // Without JavaScript: back to the builder, which shows the errors and what was typed.
    const plain = await web.submit('POST', `${base}/workflows`, {
      name: 'Later',
      ...stepFields([
        { agent: 'alpha', input: '{{input}}' },
        { agent: 'beta', input: '{{steps.3.output}}' },
      ]),
    })
    plain.assertStatus(302)
    assert.equal(plain.header('location'), `${base}/workflows/new`)
    const page = (await web.get(`${base}/workflows/new`)).text()
    assert.include(page, 'id="field-steps-1-input-error"')
    assert.include(page, 'Step 2 can use {{input}} and the outputs of steps 1 to 1, not step 3.')
    assert.include(page, 'value="Later"')
    assert.lengthOf(await Workflow.query().where('tenantId', tenant.id), 0)
  })

  test('an agent that does not exist, no steps at all, and a taken slug are refused', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant, owner } = await builderReady(client)
    await createWorkflow({
      tenantId: tenant.id,
      actorId: owner.id,
      name: 'Taken',
      steps: TWO_STEPS,
    })
    await web.get(`${base}/workflows/new`)
    const unknown = await web.submit(
      'POST',
      `${base}/workflows`,
      { name: 'Ghost', ...stepFields([{ agent: 'ghost', input: '' }]) },
      HTMX
    )
    unknown.assertStatus(422)
    assert.include(unknown.text(), 'id="field-steps-0-agent-error"')
    assert.include(unknown.text(), 'No agent &quot;ghost&quot; in this workspace.')
    assert.include(unknown.text(), 'ghost (not in this workspace)')

    const empty = await web.submit('POST', `${base}/workflows`, { name: 'Empty' }, HTMX)
    empty.assertStatus(422)
    assert.include(empty.text(), 'Add at least one step')

    const taken = await web.submit(
      'POST',
      `${base}/workflows`,
      { name: 'Other', slug: 'taken', ...stepFields(TWO_STEPS) },
      HTMX
    )
    taken.assertStatus(422)
    assert.include(taken.text(), 'already used by another workflow')
    assert.lengthOf(await Workflow.query().where('tenantId', tenant.id), 1)
  })

  test('a rejected edit keeps the version and shows the typed steps', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant, owner } = await builderReady(client)
    const { workflow } = await createWorkflow({
      tenantId: tenant.id,
      actorId: owner.id,
      name: 'Pipeline',
      steps: TWO_STEPS,
    })
    await web.get(`${base}/workflows/pipeline`)
    const response = await web.submit(
      'PUT',
      `${base}/workflows/pipeline`,
      { name: 'Pipeline', ...stepFields([{ agent: 'beta', input: 'Self {{steps.1.output}}' }]) },
      HTMX
    )
    response.assertStatus(422)
    assert.include(response.text(), 'Step 1 can use {{input}}, not step 1.')
    assert.include(response.text(), 'Self {{steps.1.output}}</textarea>')
    await workflow.refresh()
    assert.equal(workflow.currentVersion, 1)
  })

  test('deleting through the form removes it from the list and frees the slug; its runs stay', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant, owner } = await builderReady(client)
    const { workflow } = await createWorkflow({
      tenantId: tenant.id,
      actorId: owner.id,
      name: 'Pipeline',
      steps: TWO_STEPS,
    })
    const run = await web.submit('POST', `${base}/workflows/pipeline/runs`, { input: 'kept' })
    run.assertStatus(302)
    const page = await web.get(`${base}/workflows/pipeline`)
    assert.include(page.text(), `${base}/workflows/pipeline?_method=DELETE`)
    const response = await web.submit('DELETE', `${base}/workflows/pipeline`)
    response.assertStatus(302)
    assert.equal(response.header('location'), `${base}/workflows`)
    const list = await web.follow(response)
    assert.include(list.text(), 'Workflow &quot;Pipeline&quot; deleted.')
    assert.include(list.text(), 'No workflows yet')
    ;(await web.get(`${base}/workflows/pipeline`)).assertStatus(404)
    assert.lengthOf(await Run.query().where('workflowId', workflow.id), 1)
    // The run page still names the deleted workflow.
    const runPage = await web.get(run.header('location')!)
    runPage.assertStatus(200)
    assert.include(runPage.text(), 'Pipeline (deleted workflow)')
  })

  test('a test run without JavaScript runs to the end and shows the run page with the step tree', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant, owner } = await builderReady(client)
    const { workflow } = await createWorkflow({
      tenantId: tenant.id,
      actorId: owner.id,
      name: 'Pipeline',
      steps: TWO_STEPS,
    })
    await web.get(`${base}/workflows/pipeline`)
    const response = await web.submit('POST', `${base}/workflows/pipeline/runs`, {
      input: 'hello',
    })
    response.assertStatus(302)
    const run = await Run.query().where('tenantId', tenant.id).firstOrFail()
    assert.equal(response.header('location'), `${base}/runs/${run.id}`)
    assert.deepInclude(run.serialize(), {
      status: 'succeeded',
      agentId: null,
      workflowId: workflow.id,
      output: 'Step two got: hello',
    })
    const html = (await web.get(`${base}/runs/${run.id}`)).text()
    assert.include(html, `href="${base}/workflows/pipeline">Pipeline</a>`)
    assert.include(html, 'workflow version 1')
    assert.lengthOf([...html.matchAll(/data-kind="workflow_step"/g)], 2)
    assert.lengthOf([...html.matchAll(/data-kind="model_call"/g)], 2)
    assert.include(html, '<summary>Input and output</summary>')
    assert.include(html, 'Step two got: hello')
    assert.include(html, `id="steps-total" data-credits="${formatCredits(run.costMicros)}"`)
    const list = (await web.get(`${base}/runs`)).text()
    assert.include(list, `href="${base}/workflows/pipeline">Pipeline</a>`)
  })

  test('a test run with htmx answers a live bubble that follows the run, and a fresh form', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant, owner } = await builderReady(client)
    await createWorkflow({
      tenantId: tenant.id,
      actorId: owner.id,
      name: 'Pipeline',
      steps: TWO_STEPS,
    })
    await web.get(`${base}/workflows/pipeline`)
    const response = await web.submit(
      'POST',
      `${base}/workflows/pipeline/runs`,
      { input: 'streamed' },
      HTMX
    )
    response.assertStatus(200)
    const run = await Run.query().where('tenantId', tenant.id).firstOrFail()
    const html = response.text()
    assert.include(html, `hx-sse:connect="${base}/runs/${run.id}/events"`)
    assert.include(html, 'id="workflow-run-form"')
    assert.include(html, 'hx-swap-oob="outerHTML"')

    // The run goes on without the page (the browser test watches it stream); once it ended,
    // its events answer the finished bubble at once, with the answer and a link to the run.
    await runsIdle()
    const events = parseSse((await web.get(`${base}/runs/${run.id}/events`, HTMX)).text())
    assert.deepEqual(
      events.map((e) => e.event),
      ['message', 'end']
    )
    assert.include(events[0].data, 'Step two got: streamed')
    assert.include(events[0].data, `href="${base}/runs/${run.id}"`)

    const empty = await web.submit('POST', `${base}/workflows/pipeline/runs`, { input: ' ' }, HTMX)
    empty.assertStatus(422)
    assert.equal(empty.header('hx-retarget'), '#workflow-run-form')
    assert.include(empty.text(), 'Write the input first.')
  })

  test("another workspace's workflow slug is a 404 on every page and action, and nothing changes", async ({
    client,
    assert,
  }) => {
    const { web, base } = await builderReady(client)
    const other = await WorkspaceFactory.create({ grant: 1_000_000_000n })
    await createAgent({
      tenantId: other.tenant.id,
      actorId: other.owner.id,
      name: 'Alpha',
      slug: 'alpha',
      instructions: 'x',
      model: 'simulator/echo',
    })
    const { workflow } = await createWorkflow({
      tenantId: other.tenant.id,
      actorId: other.owner.id,
      name: 'Secret',
      slug: 'secret',
      steps: [{ agent: 'alpha' }],
    })
    await web.get(`${base}/workflows`)
    for (const ref of ['secret', workflow.id]) {
      ;(await web.get(`${base}/workflows/${ref}`)).assertStatus(404)
      ;(
        await web.submit('PUT', `${base}/workflows/${ref}`, {
          name: 'Stolen',
          ...stepFields(TWO_STEPS),
        })
      ).assertStatus(404)
      ;(await web.submit('DELETE', `${base}/workflows/${ref}`)).assertStatus(404)
      ;(await web.submit('POST', `${base}/workflows/${ref}/runs`, { input: 'x' })).assertStatus(404)
    }
    await workflow.refresh()
    assert.equal(workflow.name, 'Secret')
    assert.isNull(workflow.deletedAt)
    assert.lengthOf(await db.from('runs').where('workflow_id', workflow.id), 0)
  })

  test('a viewer sees workflows but may not create, edit, delete or run them, and is offered no such action', async ({
    client,
    assert,
  }) => {
    const { base, tenant, owner } = await builderReady(client)
    await createWorkflow({
      tenantId: tenant.id,
      actorId: owner.id,
      name: 'Pipeline',
      steps: TWO_STEPS,
    })
    const viewer = await UserFactory.create()
    await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: viewer.id,
      role: 'viewer',
    }).create()
    const web = await signedIn(client, viewer)
    const list = await web.get(`${base}/workflows`)
    list.assertStatus(200)
    assert.notInclude(list.text(), 'New workflow')
    const show = await web.get(`${base}/workflows/pipeline`)
    show.assertStatus(200)
    assert.notInclude(show.text(), 'id="workflow-form"')
    assert.notInclude(show.text(), 'workflows/pipeline?_method=DELETE')
    assert.include(show.text(), 'does not allow running workflows')
    assert.include(show.text(), 'Step two got: {{steps.1.output}}')
    ;(await web.get(`${base}/workflows/new`)).assertStatus(403)
    ;(
      await web.submit('POST', `${base}/workflows`, { name: 'Mine', ...stepFields(TWO_STEPS) })
    ).assertStatus(403)
    ;(
      await web.submit('PUT', `${base}/workflows/pipeline`, {
        name: 'Mine',
        ...stepFields(TWO_STEPS),
      })
    ).assertStatus(403)
    ;(await web.submit('DELETE', `${base}/workflows/pipeline`)).assertStatus(403)
    const run = await web.submit('POST', `${base}/workflows/pipeline/runs`, { input: 'hi' }, HTMX)
    run.assertStatus(403)
    assert.equal(run.header('hx-retarget'), '#alerts')
    assert.lengthOf(await Workflow.query().where('tenantId', tenant.id), 1)
    assert.lengthOf(await db.from('runs').where('tenant_id', tenant.id), 0)
  })
})
