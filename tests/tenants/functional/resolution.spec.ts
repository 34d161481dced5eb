import { test } from '@japa/runner'
import { DateTime } from 'luxon'
import { Tenant } from '#tenants'
import { signedIn } from '#tests/helpers/session'
import { UserFactory } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { MembershipFactory } from '#database/factories/tenant_factory'
import { ApiTokenFactory } from '#database/factories/api_token_factory'

test.group('tenants / resolution', () => {
  test('path, subdomain and verified custom domain resolve the same workspace', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create({ name: 'Resolved' })
    const domain = `${tenant.slug}.resolve.example.net`
    await Tenant.query()
      .where('id', tenant.id)
      .update({
        customDomain: domain,
        domainVerificationToken: 'x'.repeat(32),
        domainVerifiedAt: DateTime.now().toJSDate(),
      })
    const web = await signedIn(client, owner)
    const byPath = await web.get(`/t/${tenant.slug}/members`)
    byPath.assertStatus(200)
    const bySubdomain = await web.get('/members', { host: `${tenant.slug}.localhost` })
    bySubdomain.assertStatus(200)
    const byDomain = await web.get('/members', { host: domain })
    byDomain.assertStatus(200)
    for (const page of [byPath, bySubdomain, byDomain])
      assert.include(page.text(), 'Members · Resolved')
    // The root of a tenant host is the workspace home; global paths stay global.
    assert.include(
      (await web.get('/', { host: `${tenant.slug}.localhost` })).text(),
      '<h1>Resolved</h1>'
    )
    ;(await web.get('/account', { host: domain })).assertStatus(200)
  })

  test('a non-member gets 404 by path, subdomain and custom domain, like a workspace that does not exist', async ({
    client,
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create({ name: 'Private' })
    const domain = `${tenant.slug}.private.example.net`
    await Tenant.query()
      .where('id', tenant.id)
      .update({
        customDomain: domain,
        domainVerificationToken: 'y'.repeat(32),
        domainVerifiedAt: DateTime.now().toJSDate(),
      })
    const web = await signedIn(client, await UserFactory.create())
    const missing = await web.get('/t/no-such-workspace/members')
    missing.assertStatus(404)
    for (const [path, host] of [
      [`/t/${tenant.slug}/members`, undefined],
      ['/members', `${tenant.slug}.localhost`],
      ['/members', domain],
    ] as const) {
      const response = await web.get(path, host ? { host } : {})
      response.assertStatus(404)
      assert.notInclude(response.text(), 'Private', `${host ?? ''}${path}`)
    }
  })

  test('the current tenant and membership reach API requests through the token', async ({
    client,
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create({ name: 'Api' })
    const viewer = await UserFactory.create()
    await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: viewer.id,
      role: 'viewer',
    }).create()
    const me = await client
      .get('/api/v1/me')
      .bearerToken(await ApiTokenFactory.create(viewer, tenant.id))
    me.assertStatus(200)
    assert.equal(me.body().tenant.slug, tenant.slug)
    assert.equal(me.body().role, 'viewer')
    assert.sameMembers(me.body().abilities, [
      'agents:read',
      'runs:read',
      'credits:read',
      'analytics:read',
    ])
  })

  test('the switcher lists every workspace of the user and only theirs', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create({ name: 'First Space' })
    const second = await WorkspaceFactory.create({ name: 'Second Space' })
    const stranger = await WorkspaceFactory.create({ name: 'Stranger Space' })
    await MembershipFactory.merge({
      tenantId: second.tenant.id,
      userId: owner.id,
      role: 'viewer',
    }).create()
    const page = (await (await signedIn(client, owner)).get(`/t/${tenant.slug}`)).text()
    assert.include(page, `href="/t/${second.tenant.slug}"`)
    assert.notInclude(page, stranger.tenant.slug)
  })
})
