import { test } from '@japa/runner'
import { DateTime } from 'luxon'
import db from '@adonisjs/lucid/services/db'
import { createApiToken, revokeAllTokens } from '#auth'
import { queriesDuring } from '#tests/helpers/queries'
import { UserFactory } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function lastUsedAt(tokenId: string) {
  const row = await db
    .from('auth_access_tokens')
    .where('id', Number(tokenId))
    .select('last_used_at')
    .firstOrFail()
  return row.last_used_at ? new Date(row.last_used_at).getTime() : null
}

/** The token's use is recorded off the request path: wait until it lands (or give up). */
async function lastUsedAfter(tokenId: string, after: number | null) {
  for (let i = 0; i < 100; i++) {
    const at = await lastUsedAt(tokenId)
    if (at !== after) return at
    await sleep(10)
  }
  return after
}

test.group('auth / API token cache', () => {
  test('a warm token request makes no database query and answers exactly like a cold one', async ({
    client,
    assert,
  }) => {
    const { owner: user, tenant: workspace } = await WorkspaceFactory.create()
    const token = await createApiToken({
      user,
      tenantId: workspace.id,
      name: 'warm',
      abilities: ['agents:read', 'runs:read'],
    })
    let cold: Awaited<ReturnType<typeof client.get>> | undefined
    const coldQueries = await queriesDuring(async () => {
      cold = await client.get('/api/v1/me').bearerToken(token.secret)
    })
    cold!.assertStatus(200)
    assert.isNotEmpty(coldQueries, 'the query counter sees the cold path')
    await lastUsedAfter(token.id, null)

    let warm: Awaited<ReturnType<typeof client.get>> | undefined
    const queries = await queriesDuring(async () => {
      warm = await client.get('/api/v1/me').bearerToken(token.secret)
    })
    warm!.assertStatus(200)
    assert.deepEqual(queries, [])
    assert.deepEqual(warm!.body(), cold!.body())
    assert.deepEqual(warm!.body().tenant, {
      id: workspace.id,
      slug: workspace.slug,
      name: workspace.name,
    })
    assert.equal(warm!.body().role, 'owner')
    assert.sameMembers(warm!.body().abilities, ['agents:read', 'runs:read'])
  })

  test('a cached token still needs its secret: the right id with another secret is refused', async ({
    client,
  }) => {
    const user = await UserFactory.create()
    const token = await createApiToken({
      user,
      tenantId: (await WorkspaceFactory.create({ owner: user })).tenant.id,
      name: 's',
      abilities: [],
    })
    ;(await client.get('/api/v1/me').bearerToken(token.secret)).assertStatus(200)
    const [id] = token.secret.split('.')
    const forged = `${id}.${Buffer.from('x'.repeat(44)).toString('base64url')}`
    ;(await client.get('/api/v1/me').bearerToken(forged)).assertStatus(401)
    ;(await client.get('/api/v1/me').bearerToken(token.secret)).assertStatus(200)
  })

  test('a cached token stops working the moment it expires', async ({ client }) => {
    const user = await UserFactory.create()
    const token = await createApiToken({
      user,
      tenantId: (await WorkspaceFactory.create({ owner: user })).tenant.id,
      name: 'x',
      abilities: [],
      expiresIn: '2 seconds',
    })
    ;(await client.get('/api/v1/me').bearerToken(token.secret)).assertStatus(200)
    ;(await client.get('/api/v1/me').bearerToken(token.secret)).assertStatus(200)
    await sleep(token.expiresAt!.getTime() - Date.now() + 50)
    ;(await client.get('/api/v1/me').bearerToken(token.secret)).assertStatus(401)
  }).timeout(10_000)

  test('revoking every token of a user, or disabling the user, ends cached tokens at once', async ({
    client,
  }) => {
    const { owner: user, tenant: workspace } = await WorkspaceFactory.create()
    const revoked = await createApiToken({ user, tenantId: workspace.id, name: 'a', abilities: [] })
    ;(await client.get('/api/v1/me').bearerToken(revoked.secret)).assertStatus(200)
    await revokeAllTokens(user.id)
    ;(await client.get('/api/v1/me').bearerToken(revoked.secret)).assertStatus(401)

    const token = await createApiToken({ user, tenantId: workspace.id, name: 'b', abilities: [] })
    ;(await client.get('/api/v1/me').bearerToken(token.secret)).assertStatus(200)
    await user.merge({ disabledAt: DateTime.now() }).save()
    ;(await client.get('/api/v1/me').bearerToken(token.secret)).assertStatus(401)
    await user.merge({ disabledAt: null }).save()
    ;(await client.get('/api/v1/me').bearerToken(token.secret)).assertStatus(200)
  })

  test('a changed name shows on the next request', async ({ client, assert }) => {
    const user = await UserFactory.merge({ name: 'Before' }).create()
    const token = await createApiToken({
      user,
      tenantId: (await WorkspaceFactory.create({ owner: user })).tenant.id,
      name: 'n',
      abilities: [],
    })
    assert.equal(
      (await client.get('/api/v1/me').bearerToken(token.secret)).body().user.name,
      'Before'
    )
    await user.merge({ name: 'After' }).save()
    assert.equal(
      (await client.get('/api/v1/me').bearerToken(token.secret)).body().user.name,
      'After'
    )
  })

  test('last_used_at is written on the first use, not on every request, and again once it is a minute old', async ({
    client,
    assert,
  }) => {
    const user = await UserFactory.create()
    const token = await createApiToken({
      user,
      tenantId: (await WorkspaceFactory.create({ owner: user })).tenant.id,
      name: 'u',
      abilities: [],
    })
    assert.isNull(await lastUsedAt(token.id))
    ;(await client.get('/api/v1/me').bearerToken(token.secret)).assertStatus(200)
    const first = await lastUsedAfter(token.id, null)
    assert.isNotNull(first)

    const writes: string[] = []
    const queries = await queriesDuring(async () => {
      for (let i = 0; i < 5; i++)
        (await client.get('/api/v1/me').bearerToken(token.secret)).assertStatus(200)
      await sleep(50)
    })
    writes.push(...queries.filter((sql) => /update\s+"auth_access_tokens"/i.test(sql)))
    assert.deepEqual(writes, [])
    assert.equal(await lastUsedAt(token.id), first)

    // A token last used two minutes ago (as another process would leave it) is recorded again.
    const aged = await createApiToken({
      user,
      tenantId: (await WorkspaceFactory.create({ owner: user })).tenant.id,
      name: 'v',
      abilities: [],
    })
    const twoMinutesAgo = new Date(Date.now() - 120_000)
    await db
      .from('auth_access_tokens')
      .where('id', Number(aged.id))
      .update({ last_used_at: twoMinutesAgo })
    ;(await client.get('/api/v1/me').bearerToken(aged.secret)).assertStatus(200)
    const recorded = await lastUsedAfter(aged.id, twoMinutesAgo.getTime())
    assert.isAbove(recorded!, Date.now() - 10_000)
  })
})
