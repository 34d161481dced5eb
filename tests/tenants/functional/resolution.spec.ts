import { test } from '@japa/runner'
import { DateTime } from 'luxon'
import { Tenant } from '#tenants'
import { createUser } from '#tests/helpers/web_session'
import { addMember, tokenFor } from '#tests/helpers/tenants'
import { ownedWorkspace, signedIn } from '#tests/tenants/helpers'

test.group('tenants / resolution', () => {
  test('path, subdomain and verified custom domain resolve the same workspace', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await ownedWorkspace('Resolved')
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
    const { tenant } = await ownedWorkspace('Private')
    const domain = `${tenant.slug}.private.example.net`
    await Tenant.query()
      .where('id', tenant.id)
      .update({
        customDomain: domain,
        domainVerificationToken: 'y'.repeat(32),
        domainVerifiedAt: DateTime.now().toJSDate(),
      })
    const web = await signedIn(client, await createUser())
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
    const { tenant } = await ownedWorkspace('Api')
    const viewer = await createUser()
    await addMember(tenant.id, viewer, 'viewer')
    const me = await client.get('/api/v1/me').bearerToken(await tokenFor(viewer, tenant.id))
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
    const { owner, tenant } = await ownedWorkspace('First Space')
    const second = await ownedWorkspace('Second Space')
    const stranger = await ownedWorkspace('Stranger Space')
    await addMember(second.tenant.id, owner, 'viewer')
    const page = (await (await signedIn(client, owner)).get(`/t/${tenant.slug}`)).text()
    assert.include(page, `href="/t/${second.tenant.slug}"`)
    assert.notInclude(page, stranger.tenant.slug)
  })
})
