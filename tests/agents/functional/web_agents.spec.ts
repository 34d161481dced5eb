import { test } from '@japa/runner'
import type { ApiClient } from '@japa/api-client'
import db from '@adonisjs/lucid/services/db'
import Agent from '#agents/models/agent'
import AgentVersion from '#agents/models/agent_version'
import { createAgent } from '#agents/actions/save_agent'
import { signedIn } from '#tests/helpers/session'
import { UserFactory } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { MembershipFactory } from '#database/factories/tenant_factory'

const HTMX = { 'hx-request': 'true' }
const form = {
  name: 'Echo bot',
  slug: 'echo',
  instructions: 'Repeat the user.',
  model: 'simulator/echo',
  max_tokens: '64',
}

/** An owner signed in to a fresh workspace (with credits), and the workspace's base path. */
async function signedInOwner(client: ApiClient, credits?: bigint) {
  const workspace = await WorkspaceFactory.create({ grant: credits ?? 1_000_000_000n })
  const web = await signedIn(client, workspace.owner)
  return { ...workspace, web, base: `/t/${workspace.tenant.slug}` }
}

function versionsOf(agentId: string) {
  return AgentVersion.query().where('agentId', agentId).orderBy('version')
}

test.group('agents / web: agent pages', () => {
  test('the list shows each agent with slug, model, version and last update', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant, owner } = await signedInOwner(client, 0n)
    await createAgent({
      tenantId: tenant.id,
      actorId: owner.id,
      name: 'Lorem writer',
      slug: 'lorem',
      instructions: 'Write.',
      model: 'simulator/lorem',
    })
    const page = await web.get(`${base}/agents`)
    page.assertStatus(200)
    for (const text of [
      'Lorem writer',
      '<code>lorem</code>',
      'simulator/lorem',
      '>v1<',
      'New agent',
    ])
      assert.include(page.text(), text)
  })

  test('a form with errors: htmx gets the form fragment (422) with field messages; nothing is created', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant } = await signedInOwner(client, 0n)
    await web.get(`${base}/agents/new`)
    const response = await web.submit(
      'POST',
      `${base}/agents`,
      { ...form, name: '', slug: 'Not A Slug!', temperature: '7', metadata: '[1]' },
      HTMX
    )
    response.assertStatus(422)
    const html = response.text()
    assert.notInclude(html, '<html')
    assert.include(html, 'id="agent-form"')
    assert.include(html, 'id="field-name-error"')
    assert.include(html, 'lower-case letters, digits and dashes')
    assert.include(html, 'from 0 to 2')
    assert.include(html, 'Metadata must be a JSON object.')
    assert.include(html, 'Repeat the user.', 'what was typed is kept')
    assert.lengthOf(await Agent.query().where('tenantId', tenant.id), 0)

    await web.submit('POST', `${base}/agents`, form, HTMX)
    const taken = await web.submit('POST', `${base}/agents`, { ...form, name: 'Other' }, HTMX)
    taken.assertStatus(422)
    assert.include(taken.text(), 'already used by another agent')
    const unknown = await web.submit(
      'POST',
      `${base}/agents`,
      { ...form, slug: 'x', model: 'gpt-nope' },
      HTMX
    )
    unknown.assertStatus(422)
    assert.include(unknown.text(), 'Unknown model')
  })

  test('a form with errors without JavaScript: back to the form, which shows the errors and the typed values', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant } = await signedInOwner(client, 0n)
    await web.get(`${base}/agents/new`)
    const response = await web.submit('POST', `${base}/agents`, {
      ...form,
      name: 'Typed name',
      instructions: '',
    })
    response.assertStatus(302)
    assert.equal(response.header('location'), `${base}/agents/new`)
    const page = await web.get(`${base}/agents/new`)
    assert.include(page.text(), 'id="field-instructions-error"')
    assert.include(page.text(), 'value="Typed name"')
    assert.lengthOf(await Agent.query().where('tenantId', tenant.id), 0)
  })

  test('a rejected form too large for the session cookie is re-rendered in place (422) instead of redirected', async ({
    client,
    assert,
  }) => {
    const { web, base } = await signedInOwner(client, 0n)
    await web.get(`${base}/agents/new`)
    const long = 'A long instruction line.\n'.repeat(100)
    const response = await web.submit('POST', `${base}/agents`, {
      ...form,
      model: '',
      instructions: long,
    })
    response.assertStatus(422)
    assert.include(response.text(), '<html')
    assert.include(response.text(), 'id="field-model-error"')
    assert.include(response.text(), 'A long instruction line.')
  })

  test('creating saves version 1 with every field; htmx is told to redirect to the agent', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant } = await signedInOwner(client, 0n)
    await web.get(`${base}/agents/new`)
    const response = await web.submit(
      'POST',
      `${base}/agents`,
      {
        ...form,
        'description': 'Says it back',
        'fallback_models[]': ['simulator/lorem'],
        'temperature': '0.5',
        'metadata': '{"simulate": {"latency_ms": 10}}',
      },
      HTMX
    )
    response.assertStatus(204)
    assert.equal(response.header('hx-redirect'), `${base}/agents/echo`)
    const agent = await Agent.query()
      .where('tenantId', tenant.id)
      .where('slug', 'echo')
      .firstOrFail()
    assert.equal(agent.description, 'Says it back')
    const [version] = await versionsOf(agent.id)
    assert.deepInclude(version.serialize(), {
      version: 1,
      instructions: 'Repeat the user.',
      model: 'simulator/echo',
      fallbackModels: ['simulator/lorem'],
      temperature: 0.5,
      maxTokens: 64,
    })
    assert.deepEqual(version.metadata, { simulate: { latency_ms: 10 } })
    const page = await web.get(`${base}/agents/echo`)
    assert.include(page.text(), 'Agent &quot;Echo bot&quot; created.')

    const plain = await web.submit('POST', `${base}/agents`, { ...form, slug: 'echo-2' })
    assert.equal(plain.status(), 302)
    assert.equal(plain.header('location'), `${base}/agents/echo-2`)
  })

  test('editing saves a new version; the old one is kept; an empty slug keeps the current one', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant, owner } = await signedInOwner(client, 0n)
    const { agent } = await createAgent({
      tenantId: tenant.id,
      actorId: owner.id,
      name: 'Echo bot',
      slug: 'echo',
      instructions: 'Repeat the user.',
      model: 'simulator/echo',
    })
    const edit = await web.get(`${base}/agents/echo/edit`)
    assert.include(edit.text(), 'Repeat the user.')
    const response = await web.submit(
      'PUT',
      `${base}/agents/echo`,
      { ...form, slug: '', instructions: 'Repeat the user.\nBe brief.', max_tokens: '128' },
      HTMX
    )
    response.assertStatus(204)
    assert.equal(response.header('hx-redirect'), `${base}/agents/echo`)
    const versions = await versionsOf(agent.id)
    assert.deepEqual(
      versions.map((v) => [v.version, v.instructions, v.maxTokens]),
      [
        [1, 'Repeat the user.', 1024],
        [2, 'Repeat the user.\nBe brief.', 128],
      ]
    )
    assert.equal((await Agent.findOrFail(agent.id)).currentVersion, 2)
    assert.include((await web.get(`${base}/agents/echo`)).text(), 'Saved as version 2.')

    const invalid = await web.submit(
      'PUT',
      `${base}/agents/echo`,
      { ...form, max_tokens: '0' },
      HTMX
    )
    invalid.assertStatus(422)
    assert.include(invalid.text(), `action="${base}/agents/echo?_method=PUT"`)
    assert.lengthOf(await versionsOf(agent.id), 2)
  })

  test('a version page shows the changed settings and the line diff; restore saves the old config as a new version', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant, owner } = await signedInOwner(client, 0n)
    const { agent } = await createAgent({
      tenantId: tenant.id,
      actorId: owner.id,
      name: 'Echo',
      slug: 'echo',
      instructions: 'One\nTwo\nThree',
      model: 'simulator/echo',
    })
    await web.submit('PUT', `${base}/agents/echo`, {
      ...form,
      instructions: 'One\nTwo, changed\nThree\nFour',
      max_tokens: '99',
    })
    const history = await web.get(`${base}/agents/echo/versions`)
    assert.include(history.text(), `${base}/agents/echo/versions/1/restoration`)
    const diff = (await web.get(`${base}/agents/echo/versions/2`)).text()
    assert.include(diff, '<del>Two</del>')
    assert.include(diff, '<ins>Two, changed</ins>')
    assert.include(diff, '<ins>Four</ins>')
    assert.match(
      diff,
      /Max tokens<\/th>\s*<td><del class="diff-del">1024<\/del><\/td>\s*<td><ins class="diff-ins">99<\/ins><\/td>/
    )

    const restored = await web.submit('POST', `${base}/agents/echo/versions/1/restoration`)
    restored.assertStatus(302)
    assert.equal(restored.header('location'), `${base}/agents/echo/versions`)
    const versions = await versionsOf(agent.id)
    assert.deepEqual(
      versions.map((v) => [v.version, v.instructions, v.maxTokens]),
      [
        [1, 'One\nTwo\nThree', 1024],
        [2, 'One\nTwo, changed\nThree\nFour', 99],
        [3, 'One\nTwo\nThree', 1024],
      ]
    )
    assert.include(
      (await web.get(`${base}/agents/echo/versions`)).text(),
      'Version 1 restored as version 3.'
    )
    ;(await web.get(`${base}/agents/echo/versions/9`)).assertStatus(404)
    ;(await web.get(`${base}/agents/echo/versions/abc`)).assertStatus(404)
  })

  test('delete is confirmed in a dialog and sent as DELETE (method spoofing); the agent is then gone', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant, owner } = await signedInOwner(client, 0n)
    const { agent } = await createAgent({
      tenantId: tenant.id,
      actorId: owner.id,
      name: 'Echo',
      slug: 'echo',
      instructions: 'x',
      model: 'simulator/echo',
    })
    const page = (await web.get(`${base}/agents/echo`)).text()
    assert.include(page, '<dialog')
    assert.include(page, `action="${base}/agents/echo?_method=DELETE"`)
    const response = await web.submit('DELETE', `${base}/agents/echo`)
    response.assertStatus(302)
    assert.equal(response.header('location'), `${base}/agents`)
    assert.isNotNull((await Agent.findOrFail(agent.id)).deletedAt)
    assert.include((await web.get(`${base}/agents`)).text(), 'Agent &quot;Echo&quot; deleted.')
    ;(await web.get(`${base}/agents/echo`)).assertStatus(404)
  })

  test('a form without its CSRF token is refused and changes nothing', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant } = await signedInOwner(client, 0n)
    const response = await client
      .post(`${base}/agents`)
      .headers({ cookie: web.cookieHeader() })
      .form(form)
      .redirects(0)
    assert.oneOf(response.status(), [302, 403])
    assert.lengthOf(await Agent.query().where('tenantId', tenant.id), 0)
  })

  test('a viewer reads agents but may not create, edit, delete or run them (403), and is offered no such action', async ({
    client,
    assert,
  }) => {
    const { base, tenant, owner } = await signedInOwner(client)
    await createAgent({
      tenantId: tenant.id,
      actorId: owner.id,
      name: 'Echo',
      slug: 'echo',
      instructions: 'x',
      model: 'simulator/echo',
    })
    const viewer = await UserFactory.create()
    await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: viewer.id,
      role: 'viewer',
    }).create()
    const web = await signedIn(client, viewer)
    const list = await web.get(`${base}/agents`)
    list.assertStatus(200)
    assert.notInclude(list.text(), 'New agent')
    const show = await web.get(`${base}/agents/echo`)
    assert.notInclude(show.text(), 'agents/echo?_method=DELETE')
    assert.include(
      (await web.get(`${base}/agents/echo/chat`)).text(),
      'does not allow running agents'
    )
    ;(await web.get(`${base}/agents/new`)).assertStatus(403)
    ;(await web.get(`${base}/agents/echo/edit`)).assertStatus(403)
    ;(await web.submit('POST', `${base}/agents`, { ...form, slug: 'mine' })).assertStatus(403)
    ;(await web.submit('PUT', `${base}/agents/echo`, form)).assertStatus(403)
    ;(await web.submit('DELETE', `${base}/agents/echo`)).assertStatus(403)
    ;(await web.submit('POST', `${base}/agents/echo/versions/1/restoration`)).assertStatus(403)
    const run = await web.submit('POST', `${base}/agents/echo/runs`, { input: 'hi' }, HTMX)
    run.assertStatus(403)
    assert.equal(run.header('hx-retarget'), '#alerts')
    assert.lengthOf(await Agent.query().where('tenantId', tenant.id), 1)
    assert.lengthOf(await db.from('runs').where('tenant_id', tenant.id), 0)
  })

  test("another tenant's agents, versions, threads and runs are 404 on every page and action", async ({
    client,
    assert,
  }) => {
    const mine = await signedInOwner(client)
    const other = await WorkspaceFactory.create({ grant: 1_000_000_000n, token: true })
    const { agent } = await createAgent({
      tenantId: other.tenant.id,
      actorId: other.owner.id,
      name: 'Theirs',
      slug: 'theirs',
      instructions: 'x',
      model: 'simulator/echo',
    })
    const foreignRun = await client
      .post('/api/v1/agents/theirs/runs')
      .bearerToken(other.token)
      .json({ input: 'secret' })
    const runId = foreignRun.body().id
    const thread = await db
      .table('threads')
      .insert({ tenant_id: other.tenant.id, agent_id: agent.id, title: 'theirs' })
      .returning('id')
    const { web, base } = mine
    await createAgent({
      tenantId: mine.tenant.id,
      actorId: mine.owner.id,
      name: 'Mine',
      slug: 'mine',
      instructions: 'x',
      model: 'simulator/echo',
    })
    for (const path of [
      `/agents/${agent.id}`,
      '/agents/theirs',
      `/agents/${agent.id}/edit`,
      `/agents/${agent.id}/versions`,
      `/agents/${agent.id}/versions/1`,
      `/agents/${agent.id}/chat`,
      `/runs/${runId}`,
      `/runs/${runId}/events`,
      `/agents/mine/chat?thread=${thread[0].id}`,
    ]) {
      assert.equal((await web.get(`${base}${path}`)).status(), 404, path)
    }
    for (const [method, path, body] of [
      ['PUT', `/agents/${agent.id}`, form],
      ['DELETE', `/agents/${agent.id}`, {}],
      ['POST', `/agents/${agent.id}/versions/1/restoration`, {}],
      ['POST', `/agents/${agent.id}/runs`, { input: 'hi' }],
      ['POST', '/agents/mine/runs', { input: 'hi', thread_id: thread[0].id }],
      ['POST', `/runs/${runId}/cancellation`, {}],
    ] as const) {
      assert.equal(
        (await web.submit(method, `${base}${path}`, body)).status(),
        404,
        `${method} ${path}`
      )
    }
    assert.equal((await web.get(`/t/${other.tenant.slug}/agents`)).status(), 404, 'not a member')
    assert.equal((await AgentVersion.query().where('agentId', agent.id)).length, 1)
    assert.isNull((await Agent.findOrFail(agent.id)).deletedAt)
  })

  test('odd input never crashes a page: bad paging, filters and ids are handled', async ({
    client,
    assert,
  }) => {
    const { web, base } = await signedInOwner(client, 0n)
    for (const path of [
      '/agents?cursor=zzz&limit=9999',
      '/runs?cursor=%FF&status=nope&from=2026-02-31&to=tomorrow&agent=%20',
      '/runs?from=0001-01-01&to=99999-01-01',
      '/runs/not-a-uuid',
      '/agents/%E2%9C%93/versions/1e9',
    ]) {
      assert.oneOf((await web.get(`${base}${path}`)).status(), [200, 404], path)
    }
    // A NUL anywhere is refused at the edge: the browser is sent back with a message.
    assert.equal((await web.get(`${base}/runs?cursor=%00`)).status(), 302)
    await web.get(`${base}/agents/new`)
    const weird = await web.submit(
      'POST',
      `${base}/agents`,
      {
        'name[]': ['a', 'b'],
        'instructions[x]': 'y',
        'model': 'simulator/echo',
        'fallback_models[]': ['nope'],
      },
      HTMX
    )
    weird.assertStatus(422)
  })
})
