import { test } from '@japa/runner'
import { DateTime } from 'luxon'
import db from '@adonisjs/lucid/services/db'
import { createApiToken, revokeApiToken } from '#auth'
import { Membership, Tenant } from '#tenants'
import { changeRole, removeMember } from '#tenants/actions/change_membership'
import { transferOwnership } from '#tenants/actions/transfer_ownership'
import {
  liftSuspension,
  purgeDueTenants,
  requestDeletion,
  suspendTenant,
} from '#tenants/actions/lifecycle'
import { markExported } from '#tenants/services/export'
import { enableTwoFactor } from '#tests/helpers/two_factor'
import { startAppProcess } from '#tests/helpers/app_process'
import { UserFactory } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { MembershipFactory } from '#database/factories/tenant_factory'
import { ApiTokenFactory } from '#database/factories/api_token_factory'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function membershipOf(tenantId: string, userId: string) {
  return Membership.query().where('tenantId', tenantId).where('userId', userId).firstOrFail()
}

test.group('tenants / API access cache', () => {
  test('a role change, an ownership transfer and a removal bind a warm token on its next request', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const member = await UserFactory.create()
    const membership = await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: member.id,
      role: 'member',
    }).create()
    const [ownerToken, memberToken] = [
      await ApiTokenFactory.create(owner, tenant.id),
      await ApiTokenFactory.create(member, tenant.id),
    ]
    const me = async (token: string) => (await client.get('/api/v1/me').bearerToken(token)).body()
    const newThread = (token: string) =>
      client.post('/api/v1/threads').bearerToken(token).json({ title: 'cache' })

    assert.equal((await me(memberToken)).role, 'member')
    ;(await newThread(memberToken)).assertStatus(201)
    await changeRole({
      tenantId: tenant.id,
      membershipId: membership.id,
      role: 'viewer',
      actorId: owner.id,
    })
    assert.equal((await me(memberToken)).role, 'viewer')
    ;(await newThread(memberToken)).assertStatus(403)

    assert.equal((await me(ownerToken)).role, 'owner')
    const ownerMembership = await membershipOf(tenant.id, owner.id)
    await transferOwnership({
      tenantId: tenant.id,
      fromMembershipId: ownerMembership.id,
      toMembershipId: membership.id,
      actorId: owner.id,
    })
    assert.equal((await me(memberToken)).role, 'owner')
    assert.equal((await me(ownerToken)).role, 'admin')

    await removeMember({
      tenantId: tenant.id,
      membershipId: ownerMembership.id,
      actorId: member.id,
    })
    ;(await client.get('/api/v1/me').bearerToken(ownerToken)).assertStatus(401)
    ;(await client.get('/api/v1/me').bearerToken(memberToken)).assertStatus(200)
  })

  test('suspension, its lifting, a rename, a two-factor requirement and the purge bind a warm token on its next request', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const token = await ApiTokenFactory.create(owner, tenant.id)
    const newThread = () =>
      client.post('/api/v1/threads').bearerToken(token).json({ title: 'cache' })

    ;(await newThread()).assertStatus(201)
    await suspendTenant({ tenantId: tenant.id, reason: 'test', actorLabel: 'test' })
    const refused = await newThread()
    refused.assertStatus(403)
    assert.include(refused.body().detail, 'suspended')
    ;(await client.get('/api/v1/me').bearerToken(token)).assertStatus(200)
    await liftSuspension({ tenantId: tenant.id, actorLabel: 'test' })
    ;(await newThread()).assertStatus(201)

    const renamed = await Tenant.findOrFail(tenant.id)
    await renamed.merge({ name: 'Renamed' }).save()
    assert.equal((await client.get('/api/v1/me').bearerToken(token)).body().tenant.name, 'Renamed')

    await renamed.merge({ requireTwoFactor: true }).save()
    ;(await client.get('/api/v1/me').bearerToken(token)).assertStatus(403)
    await enableTwoFactor(owner)
    ;(await client.get('/api/v1/me').bearerToken(token)).assertStatus(200)

    await markExported(tenant.id)
    await requestDeletion({ tenant: renamed, actorId: owner.id })
    await purgeDueTenants({ now: DateTime.now().plus({ days: 8 }) })
    ;(await client.get('/api/v1/me').bearerToken(token)).assertStatus(401)
  })
})

test.group('tenants / API access cache across processes', () => {
  test('a revocation, a role change, a removal, a rename and a disabled user done here bind another process within 1 s', async ({
    assert,
    cleanup,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const [member, leaver] = [await UserFactory.create(), await UserFactory.create()]
    cleanup(async () => {
      await db.from('tenants').where('id', tenant.id).delete()
      await db.from('users').whereIn('id', [owner.id, member.id, leaver.id]).delete()
    })
    const membership = await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: member.id,
      role: 'member',
    }).create()
    const leaving = await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: leaver.id,
      role: 'member',
    }).create()
    const revoked = await createApiToken({
      user: owner,
      tenantId: tenant.id,
      name: 'revoked',
      abilities: [],
    })
    const [ownerToken, memberToken, leaverToken] = [
      await ApiTokenFactory.create(owner, tenant.id),
      await ApiTokenFactory.create(member, tenant.id),
      await ApiTokenFactory.create(leaver, tenant.id),
    ]

    const other = await startAppProcess()
    cleanup(() => other.stop())
    const me = async (token: string) => {
      const response = await fetch(`${other.url}/api/v1/me`, {
        headers: { authorization: `Bearer ${token}` },
      })
      return { status: response.status, body: response.ok ? await response.json() : null }
    }
    /** Milliseconds until the other process answers as `expected` says (polled every 20 ms, up to 3 s). */
    const seenAfter = async (
      token: string,
      expected: (answer: Awaited<ReturnType<typeof me>>) => boolean
    ) => {
      const start = performance.now()
      while (performance.now() - start < 3000) {
        if (expected(await me(token))) return performance.now() - start
        await sleep(20)
      }
      return Infinity
    }
    // Warm the other process's caches (twice: the second answer comes from them).
    for (const token of [revoked.secret, ownerToken, memberToken, leaverToken]) {
      for (let i = 0; i < 2; i++) assert.equal((await me(token)).status, 200)
    }

    await revokeApiToken(owner, revoked.id)
    assert.isBelow(await seenAfter(revoked.secret, (a) => a.status === 401), 1000, 'revoked token')

    await changeRole({
      tenantId: tenant.id,
      membershipId: membership.id,
      role: 'viewer',
      actorId: owner.id,
    })
    assert.isBelow(
      await seenAfter(memberToken, (a) => a.body?.role === 'viewer'),
      1000,
      'role change'
    )

    await removeMember({ tenantId: tenant.id, membershipId: leaving.id, actorId: owner.id })
    assert.isBelow(await seenAfter(leaverToken, (a) => a.status === 401), 1000, 'removal')

    const renamed = await Tenant.findOrFail(tenant.id)
    await renamed.merge({ name: 'Renamed elsewhere' }).save()
    assert.isBelow(
      await seenAfter(ownerToken, (a) => a.body?.tenant.name === 'Renamed elsewhere'),
      1000,
      'rename'
    )

    await member.merge({ disabledAt: DateTime.now() }).save()
    assert.isBelow(await seenAfter(memberToken, (a) => a.status === 401), 1000, 'disabled user')
  })
    .tags(['@committed'])
    .timeout(60_000)
    .skip(
      !process.env.DATABASE_URL,
      'needs DATABASE_URL: a second process cannot open the in-memory PGlite database'
    )
})
