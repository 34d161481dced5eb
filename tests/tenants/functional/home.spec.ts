import { test } from '@japa/runner'
import { signedIn } from '#tests/helpers/session'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { MembershipFactory } from '#database/factories/tenant_factory'
import { UserFactory } from '#database/factories/user_factory'

const echo = { name: 'Echo', slug: 'echo', instructions: 'Repeat.', model: 'simulator/echo' }

test.group('tenants / workspace home', () => {
  test('shows the balance and burn, the latest runs, the agents and the actions a role may take', async ({
    client,
    assert,
  }) => {
    const { owner, tenant, token } = await WorkspaceFactory.create({
      grant: 100_000_000n,
      token: true,
    })
    const empty = await signedIn(client, owner)
    const before = (await empty.get(`/t/${tenant.slug}`)).text()
    assert.include(before, 'No runs yet')
    assert.include(before, 'No agents yet.')
    assert.include(before, 'Nothing spent in the last 7 days')

    ;(await client.post('/api/v1/agents').bearerToken(token!).json(echo)).assertStatus(201)
    for (const input of ['one', 'two'])
      (
        await client.post('/api/v1/agents/echo/runs').bearerToken(token!).json({ input })
      ).assertStatus(201)

    const page = await empty.get(`/t/${tenant.slug}`)
    page.assertStatus(200)
    const html = page.text()
    assert.equal((html.match(/data-testid="home-run"/g) ?? []).length, 2)
    assert.include(html, `/t/${tenant.slug}/runs/`)
    assert.include(html, 'Agents (1)')
    assert.include(html, `href="/t/${tenant.slug}/agents/echo/chat"`)
    assert.include(html, 'New agent')
    assert.include(html, 'Buy credits')
    assert.match(html, /data-testid="home-available">[0-9.]+</)
    assert.match(html, /data-testid="home-burn">[0-9.]+ a day</)
    assert.include(html, 'days left')

    // A viewer reads the same panels without the actions their role does not allow.
    const viewer = await UserFactory.create()
    await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: viewer.id,
      role: 'viewer',
    }).create()
    const seen = (await (await signedIn(client, viewer)).get(`/t/${tenant.slug}`)).text()
    assert.equal((seen.match(/data-testid="home-run"/g) ?? []).length, 2)
    assert.notInclude(seen, 'New agent')
    assert.notInclude(seen, 'Buy credits')
    assert.notInclude(seen, `/t/${tenant.slug}/agents/echo/chat`)
  })
})
