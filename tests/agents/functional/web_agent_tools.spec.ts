import { test } from '@japa/runner'
import AgentVersion from '#agents/models/agent_version'
import Agent from '#agents/models/agent'
import { signedIn } from '#tests/helpers/session'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

const HTMX = { 'hx-request': 'true' }
const form = { instructions: 'Use tools.', model: 'simulator/echo', max_tokens: '64' }

async function currentVersion(tenantId: string, slug: string) {
  const agent = await Agent.query().where('tenantId', tenantId).where('slug', slug).firstOrFail()
  return AgentVersion.query()
    .where('agentId', agent.id)
    .where('version', agent.currentVersion)
    .firstOrFail()
}

const WEATHER = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city.',
    parameters: { type: 'object', properties: { city: { type: 'string' } } },
  },
}

test.group('agents / web: tools on the agent form', () => {
  test('an agent saved through the form with calculator and a handoff runs the calculator through the API', async ({
    client,
    assert,
  }) => {
    const { tenant, owner, token } = await WorkspaceFactory.create({
      grant: 1_000_000n,
      token: true,
    })
    const web = await signedIn(client, owner)
    const base = `/t/${tenant.slug}`
    await web.get(`${base}/agents/new`)
    ;(
      await web.submit('POST', `${base}/agents`, { ...form, name: 'Helper', slug: 'helper' })
    ).assertStatus(302)
    const page = await web.get(`${base}/agents/new`)
    for (const text of ['Tools', 'calculator', 'current_time', 'http_request', 'Can hand off to'])
      assert.include(page.text(), text)
    assert.include(page.text(), 'value="helper"')
    assert.include(page.text(), 'name="max_steps"')

    const created = await web.submit('POST', `${base}/agents`, {
      ...form,
      'name': 'Calc',
      'slug': 'calc',
      'tools[]': ['calculator'],
      'handoffs[]': ['helper'],
      'max_steps': '5',
    })
    created.assertStatus(302)
    const version = await currentVersion(tenant.id, 'calc')
    assert.deepEqual(version.tools, ['calculator', { type: 'agent', agent: 'helper' }])
    assert.equal(version.maxSteps, 5)

    const show = await web.get(`${base}/agents/calc`)
    assert.include(show.text(), '<dt>Tools</dt><dd>calculator</dd>')
    assert.include(show.text(), `href="${base}/agents/helper">Helper</a>`)
    assert.include(show.text(), '<dt>Max steps</dt><dd>5</dd>')
    const edit = await web.get(`${base}/agents/calc/edit`)
    assert.match(edit.text(), /value="calculator"[^>]*checked/)
    assert.match(edit.text(), /value="helper"[^>]*checked/)
    assert.notMatch(edit.text(), /value="current_time"[^>]*checked/)
    assert.notInclude(edit.text(), 'id="field-handoffs-calc"') // not offered a handoff to itself

    const response = await client
      .post('/api/v1/agents/calc/runs')
      .bearerToken(token)
      .json({ input: '/tool calculator {"expression":"6*7"}' })
    response.assertStatus(201)
    assert.equal(response.body().status, 'succeeded')
    assert.equal(response.body().output, 'calculator → {"result":42}')
  })

  test('saving the form keeps function definitions set through the API', async ({
    client,
    assert,
  }) => {
    const { tenant, owner, token } = await WorkspaceFactory.create({ token: true })
    ;(
      await client
        .post('/api/v1/agents')
        .bearerToken(token)
        .json({ ...form, max_tokens: 64, name: 'Weather', tools: ['calculator', WEATHER] })
    ).assertStatus(201)
    const web = await signedIn(client, owner)
    const base = `/t/${tenant.slug}`
    const edit = await web.get(`${base}/agents/weather/edit`)
    assert.include(edit.text(), 'get_weather')
    assert.include(edit.text(), 'Saving here keeps it.')
    const saved = await web.submit('PUT', `${base}/agents/weather`, {
      ...form,
      'name': 'Weather',
      'tools[]': ['current_time'],
      'max_steps': '',
    })
    saved.assertStatus(302)
    const version = await currentVersion(tenant.id, 'weather')
    assert.deepEqual(version.tools, ['current_time', WEATHER])
    assert.equal(version.maxSteps, 10)
    assert.include((await web.get(`${base}/agents/weather`)).text(), 'get_weather')
  })

  test('tool errors show in the Tools fieldset and max steps errors next to its field; nothing is saved', async ({
    client,
    assert,
  }) => {
    const { tenant, owner } = await WorkspaceFactory.create()
    const web = await signedIn(client, owner)
    const base = `/t/${tenant.slug}`
    await web.get(`${base}/agents/new`)
    ;(
      await web.submit('POST', `${base}/agents`, { ...form, name: 'Solo', slug: 'solo' })
    ).assertStatus(302)
    await web.get(`${base}/agents/solo/edit`)
    // A forged handoff to itself reaches assertTools, whose tools.N error marks the fieldset.
    const self = await web.submit(
      'PUT',
      `${base}/agents/solo`,
      { ...form, 'name': 'Solo', 'handoffs[]': ['solo'] },
      HTMX
    )
    self.assertStatus(422)
    assert.include(self.text(), 'id="field-tools-error"')
    assert.include(self.text(), 'An agent cannot hand off to itself.')
    const missing = await web.submit(
      'PUT',
      `${base}/agents/solo`,
      { ...form, 'name': 'Solo', 'handoffs[]': ['ghost'] },
      HTMX
    )
    missing.assertStatus(422)
    assert.include(missing.text(), 'No agent &quot;ghost&quot; in this workspace.')
    assert.include(missing.text(), 'ghost (no such agent)') // shown so it can be unticked
    const invalid = await web.submit(
      'PUT',
      `${base}/agents/solo`,
      { ...form, 'name': 'Solo', 'tools[]': ['nope'], 'max_steps': '99' },
      HTMX
    )
    invalid.assertStatus(422)
    assert.include(invalid.text(), 'Choose tools from the list.')
    assert.include(invalid.text(), 'id="field-max_steps-error"')
    assert.include(invalid.text(), 'Enter a whole number from 1 to 50.')
    const version = await currentVersion(tenant.id, 'solo')
    assert.equal(version.version, 1)
    assert.deepEqual(version.tools, [])
  })
})
