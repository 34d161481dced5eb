import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { createApiToken, User } from '#auth'
import { signedIn } from '#tests/helpers/session'
import { UserFactory } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

test.group('auth / API tokens', () => {
  test('a token created on the page is shown once, stored hashed, and authenticates /api/v1/me', async ({
    client,
    assert,
  }) => {
    const { owner: user, tenant: workspace } = await WorkspaceFactory.create()
    const web = await signedIn(client, user)
    await web.get('/account/tokens')
    await web.submit('POST', '/account/tokens', {
      name: 'CI',
      expires: '30d',
      tenant: workspace.id,
      abilities: ['agents:read', 'runs:read'],
    })
    const page = await web.get('/account/tokens')
    const secret = /data-testid="new-token">([^<]+)</.exec(page.text())?.[1]
    assert.isString(secret)
    const stored = await db.from('auth_access_tokens').where('tokenable_id', user.id).firstOrFail()
    assert.notInclude(JSON.stringify(stored), secret!.split('.').pop()!)
    assert.notInclude((await web.get('/account/tokens')).text(), secret!)

    const me = await client.get('/api/v1/me').bearerToken(secret!)
    me.assertStatus(200)
    assert.deepInclude(me.body().user, { id: user.id, email: user.email })
    assert.deepEqual(me.body().tenant, {
      id: workspace.id,
      slug: workspace.slug,
      name: workspace.name,
    })
    assert.equal(me.body().role, 'owner')
    assert.sameMembers(me.body().abilities, ['agents:read', 'runs:read'])
  })

  test('missing, malformed, revoked and expired tokens → 401 problem documents', async ({
    client,
    assert,
  }) => {
    const user = await UserFactory.create()
    const missing = await client.get('/api/v1/me')
    missing.assertStatus(401)
    assert.include(missing.header('content-type'), 'application/problem+json')
    ;(await client.get('/api/v1/me').bearerToken('garbage')).assertStatus(401)

    const revoked = await createApiToken({
      user,
      tenantId: (await WorkspaceFactory.create({ owner: user })).tenant.id,
      name: 'r',
      abilities: [],
    })
    ;(await client.get('/api/v1/me').bearerToken(revoked.secret)).assertStatus(200)
    const web = await signedIn(client, user)
    await web.get('/account/tokens')
    await web.submit('DELETE', `/account/tokens/${revoked.id}`)
    ;(await client.get('/api/v1/me').bearerToken(revoked.secret)).assertStatus(401)

    const expired = await createApiToken({
      user,
      tenantId: (await WorkspaceFactory.create({ owner: user })).tenant.id,
      name: 'e',
      abilities: [],
      expiresIn: '1 hour',
    })
    await db
      .from('auth_access_tokens')
      .where('id', Number(expired.id))
      .update({ expires_at: new Date(Date.now() - 1000) })
    ;(await client.get('/api/v1/me').bearerToken(expired.secret)).assertStatus(401)
  })

  test("a disabled user's tokens stop working at once", async ({ client }) => {
    const user = await UserFactory.create()
    const token = await createApiToken({
      user,
      tenantId: (await WorkspaceFactory.create({ owner: user })).tenant.id,
      name: 't',
      abilities: [],
    })
    await db.from('users').where('id', user.id).update({ disabled_at: new Date() })
    ;(await client.get('/api/v1/me').bearerToken(token.secret)).assertStatus(401)
  })

  test("revoking another user's token is a 404 and leaves it working", async ({
    client,
    assert,
  }) => {
    const [alice, bob] = [await UserFactory.create(), await UserFactory.create()]
    const bobToken = await createApiToken({
      user: bob,
      tenantId: (await WorkspaceFactory.create({ owner: bob })).tenant.id,
      name: 'b',
      abilities: [],
    })
    const web = await signedIn(client, alice)
    await web.get('/account/tokens')
    assert.equal((await web.submit('DELETE', `/account/tokens/${bobToken.id}`)).status(), 404)
    assert.equal((await web.submit('DELETE', '/account/tokens/abc')).status(), 404)
    ;(await client.get('/api/v1/me').bearerToken(bobToken.secret)).assertStatus(200)
  })

  test('invalid token forms are refused without creating anything', async ({ client, assert }) => {
    const user = await UserFactory.create()
    const web = await signedIn(client, user)
    await web.get('/account/tokens')
    const { tenant: mine } = await WorkspaceFactory.create({ owner: user })
    const { tenant: stranger } = await WorkspaceFactory.create()
    await web.submit('POST', '/account/tokens', { name: '', expires: '30d', tenant: mine.id })
    await web.submit('POST', '/account/tokens', { name: 'x', expires: 'forever', tenant: mine.id })
    await web.submit('POST', '/account/tokens', {
      name: 'x',
      expires: '30d',
      tenant: mine.id,
      abilities: ['root:all'],
    })
    await web.submit('POST', '/account/tokens', { name: 'x', expires: '30d', tenant: stranger.id })
    await web.submit('POST', '/account/tokens', { name: 'x', expires: '30d' })
    const count = await db.from('auth_access_tokens').where('tokenable_id', user.id).count('* as n')
    assert.equal(Number(count[0].n), 0)
    assert.instanceOf(await User.find(user.id), User)
  })
})
