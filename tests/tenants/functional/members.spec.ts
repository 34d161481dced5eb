import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { Membership, roleAllows, ROLES, Tenant, type Permission, type Role } from '#tenants'
import { changeRole, MembershipRuleError } from '#tenants/actions/change_membership'
import { fakeMail } from '#tests/helpers/mail'
import { signedIn } from '#tests/helpers/session'
import { UserFactory } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { MembershipFactory } from '#database/factories/tenant_factory'
import { ApiTokenFactory } from '#database/factories/api_token_factory'

type Attempt = {
  action: string
  permission: Permission
  run: (ctx: any) => Promise<any>
  changed?: (ctx: any) => Promise<boolean>
}

/**
 * Every tenant action with the permission that governs it; the expectations come from the
 * permission table itself (roles.ts), so the table and the enforcement cannot drift apart.
 */
const attempts: Attempt[] = [
  {
    action: 'open the workspace',
    permission: 'tenant.read',
    run: ({ web, slug }) => web.get(`/t/${slug}`),
  },
  {
    action: 'list members',
    permission: 'members.read',
    run: ({ web, slug }) => web.get(`/t/${slug}/members`),
  },
  {
    action: 'open settings',
    permission: 'tenant.update',
    run: ({ web, slug }) => web.get(`/t/${slug}/settings`),
  },
  {
    action: 'rename the workspace',
    permission: 'tenant.update',
    run: ({ web, slug }) =>
      web.submit('PUT', `/t/${slug}/settings`, { name: 'Renamed', timeZone: 'UTC' }),
    changed: async ({ tenant }) => (await Tenant.findOrFail(tenant.id)).name === 'Renamed',
  },
  {
    action: 'invite',
    permission: 'members.manage',
    run: ({ web, slug }) =>
      web.submit('POST', `/t/${slug}/invitations`, {
        email: `x-${Math.random()}@example.test`,
        role: 'viewer',
      }),
    changed: async ({ tenant }) =>
      Boolean(await db.from('invitations').where('tenant_id', tenant.id).first()),
  },
  {
    action: 'change a role',
    permission: 'members.manage',
    run: ({ web, slug, target }) =>
      web.submit('PUT', `/t/${slug}/members/${target.id}`, { role: 'member' }),
    changed: async ({ target }) => (await Membership.findOrFail(target.id)).role === 'member',
  },
  {
    action: 'set a custom domain',
    permission: 'tenant.domain',
    run: ({ web, slug }) =>
      web.submit('PUT', `/t/${slug}/domain`, { domain: `${slug}.example.org` }),
    changed: async ({ tenant }) => (await Tenant.findOrFail(tenant.id)).customDomain !== null,
  },
  {
    action: 'export the data',
    permission: 'tenant.export',
    run: ({ web, slug }) => web.get(`/t/${slug}/export.json`),
  },
  {
    action: 'require two-factor',
    permission: 'tenant.security',
    run: ({ web, slug }) => web.submit('PUT', `/t/${slug}/security`, {}),
  },
  {
    action: 'remove a member',
    permission: 'members.manage',
    run: ({ web, slug, target }) => web.submit('DELETE', `/t/${slug}/members/${target.id}`),
    changed: async ({ target }) => !(await Membership.find(target.id)),
  },
  {
    action: 'request deletion',
    permission: 'tenant.delete',
    run: ({ web, slug }) => web.submit('POST', `/t/${slug}/deletion`, { confirm: slug }),
    changed: async ({ tenant }) =>
      (await Tenant.findOrFail(tenant.id)).deletionRequestedAt !== null,
  },
  {
    action: 'transfer ownership',
    permission: 'members.manage_owners',
    run: ({ web, slug, other }) =>
      web.submit('POST', `/t/${slug}/ownership-transfers`, { membership_id: other.id }),
    changed: async ({ other }) => (await Membership.findOrFail(other.id)).role === 'owner',
  },
]

test.group('tenants / roles × actions', () => {
  for (const role of ROLES) {
    test(`${/^[ao]/.test(role) ? 'an' : 'a'} ${role} may do exactly what the permission table allows`, async ({
      client,
      assert,
      cleanup,
    }) => {
      fakeMail(cleanup)
      // No member limit here: the plan's limit has its own test.
      const { owner, tenant } = await WorkspaceFactory.create({ plan: 'business' })
      const actor = role === 'owner' ? owner : await UserFactory.create()
      if (role !== 'owner')
        await MembershipFactory.merge({ tenantId: tenant.id, userId: actor.id, role }).create()
      const target = await MembershipFactory.merge({ tenantId: tenant.id, role: 'viewer' }).create()
      const other = await MembershipFactory.merge({ tenantId: tenant.id, role: 'member' }).create()
      const web = await signedIn(client, actor)
      const ctx = { web, slug: tenant.slug, tenant, target, other }
      for (const attempt of attempts) {
        const allowed = roleAllows(role as Role, attempt.permission)
        const response = await attempt.run(ctx)
        if (allowed) {
          assert.oneOf(response.status(), [200, 302], `${role} may ${attempt.action}`)
          if (attempt.changed)
            assert.isTrue(await attempt.changed(ctx), `${role}: ${attempt.action} took effect`)
        } else {
          assert.equal(response.status(), 403, `${role} may not ${attempt.action}`)
          if (attempt.changed)
            assert.isFalse(await attempt.changed(ctx), `${role}: ${attempt.action} changed nothing`)
        }
      }
    })
  }

  test('admins neither grant nor take away ownership, nor remove an owner', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const admin = await UserFactory.create()
    await MembershipFactory.merge({ tenantId: tenant.id, userId: admin.id, role: 'admin' }).create()
    const member = await MembershipFactory.merge({ tenantId: tenant.id, role: 'member' }).create()
    const ownerMembership = await Membership.query()
      .where('tenantId', tenant.id)
      .where('userId', owner.id)
      .firstOrFail()
    const web = await signedIn(client, admin)
    assert.equal(
      (
        await web.submit('PUT', `/t/${tenant.slug}/members/${member.id}`, { role: 'owner' })
      ).status(),
      403
    )
    assert.equal(
      (
        await web.submit('PUT', `/t/${tenant.slug}/members/${ownerMembership.id}`, {
          role: 'viewer',
        })
      ).status(),
      403
    )
    assert.equal(
      (await web.submit('DELETE', `/t/${tenant.slug}/members/${ownerMembership.id}`)).status(),
      403
    )
    assert.equal((await Membership.findOrFail(member.id)).role, 'member')
    assert.equal((await Membership.findOrFail(ownerMembership.id)).role, 'owner')
  })
})

test.group('tenants / memberships', () => {
  test('the last owner can neither leave nor be demoted; with a second owner both work', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const mine = await Membership.query()
      .where('tenantId', tenant.id)
      .where('userId', owner.id)
      .firstOrFail()
    const web = await signedIn(client, owner)
    const demote = await web.submit('PUT', `/t/${tenant.slug}/members/${mine.id}`, {
      role: 'admin',
    })
    assert.equal(demote.status(), 302)
    assert.include((await web.get(`/t/${tenant.slug}/members`)).text(), 'at least one owner')
    const leave = await web.submit('DELETE', `/t/${tenant.slug}/members/${mine.id}`)
    assert.equal(leave.header('location'), `/t/${tenant.slug}/members`)
    assert.include(
      (await web.get(`/t/${tenant.slug}/members`)).text(),
      'The last owner cannot leave'
    )
    assert.equal((await Membership.findOrFail(mine.id)).role, 'owner')

    const second = await MembershipFactory.merge({ tenantId: tenant.id, role: 'owner' }).create()
    assert.equal(
      (
        await web.submit('PUT', `/t/${tenant.slug}/members/${second.id}`, { role: 'admin' })
      ).status(),
      302
    )
    assert.equal((await Membership.findOrFail(second.id)).role, 'admin')
    await Membership.query().where('id', second.id).update({ role: 'owner' })
    const left = await web.submit('DELETE', `/t/${tenant.slug}/members/${mine.id}`)
    assert.equal(left.header('location'), '/home')
    assert.isNull(await Membership.find(mine.id))
    ;(await web.get(`/t/${tenant.slug}`)).assertStatus(404)
  })

  test('two owners demoting each other at the same moment leave exactly one owner', async ({
    assert,
    cleanup,
  }) => {
    const first = await UserFactory.create()
    const second = await UserFactory.create()
    const { tenant } = await WorkspaceFactory.create({ owner: first })
    cleanup(async () => {
      await Tenant.query().where('id', tenant.id).delete()
      await db.from('users').whereIn('id', [first.id, second.id]).delete()
    })
    const a = await Membership.query()
      .where('tenantId', tenant.id)
      .where('userId', first.id)
      .firstOrFail()
    const b = await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: second.id,
      role: 'owner',
    }).create()
    const results = await Promise.allSettled([
      changeRole({ tenantId: tenant.id, membershipId: a.id, role: 'admin', actorId: second.id }),
      changeRole({ tenantId: tenant.id, membershipId: b.id, role: 'admin', actorId: first.id }),
    ])
    assert.lengthOf(
      results.filter((r) => r.status === 'fulfilled'),
      1
    )
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
    assert.instanceOf(rejected.reason, MembershipRuleError)
    assert.lengthOf(await Membership.query().where('tenantId', tenant.id).where('role', 'owner'), 1)
  }).tags(['@committed'])

  test('removing a member revokes their tokens for that workspace and ends their access at once', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const elsewhere = await WorkspaceFactory.create({ name: 'Elsewhere' })
    const member = await UserFactory.create()
    const membership = await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: member.id,
      role: 'member',
    }).create()
    await MembershipFactory.merge({
      tenantId: elsewhere.tenant.id,
      userId: member.id,
      role: 'member',
    }).create()
    const token = await ApiTokenFactory.create(member, tenant.id)
    const otherToken = await ApiTokenFactory.create(member, elsewhere.tenant.id)
    const memberWeb = await signedIn(client, member)
    ;(await memberWeb.get(`/t/${tenant.slug}/members`)).assertStatus(200)
    ;(await client.get('/api/v1/me').bearerToken(token)).assertStatus(200)

    const ownerWeb = await signedIn(client, owner)
    assert.equal(
      (await ownerWeb.submit('DELETE', `/t/${tenant.slug}/members/${membership.id}`)).status(),
      302
    )
    ;(await client.get('/api/v1/me').bearerToken(token)).assertStatus(401)
    ;(await memberWeb.get(`/t/${tenant.slug}/members`)).assertStatus(404)
    assert.lengthOf(
      await db
        .from('auth_access_tokens')
        .where('tokenable_id', member.id)
        .where('tenant_id', tenant.id),
      0
    )
    ;(await client.get('/api/v1/me').bearerToken(otherToken)).assertStatus(200)
    assert.exists(
      await db
        .from('audit_events')
        .where('action', 'tenants.membership.removed')
        .where('subject_id', membership.id)
        .first()
    )
  })

  test('ownership transfer: the member becomes owner and the previous owner admin, in one step', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const next = await MembershipFactory.merge({ tenantId: tenant.id, role: 'viewer' }).create()
    const mine = await Membership.query()
      .where('tenantId', tenant.id)
      .where('userId', owner.id)
      .firstOrFail()
    const foreign = await Membership.query()
      .where('tenantId', (await WorkspaceFactory.create({ name: 'Other' })).tenant.id)
      .firstOrFail()
    const web = await signedIn(client, owner)

    assert.equal(
      (
        await web.submit('POST', `/t/${tenant.slug}/ownership-transfers`, {
          membership_id: foreign.id,
        })
      ).status(),
      404
    )
    assert.equal(
      (
        await web.submit('POST', `/t/${tenant.slug}/ownership-transfers`, { membership_id: 'nope' })
      ).status(),
      404
    )
    assert.equal((await Membership.findOrFail(foreign.id)).role, 'owner')

    const self = await web.submit('POST', `/t/${tenant.slug}/ownership-transfers`, {
      membership_id: mine.id,
    })
    assert.equal(self.status(), 302)
    assert.equal((await Membership.findOrFail(mine.id)).role, 'owner')

    const done = await web.submit('POST', `/t/${tenant.slug}/ownership-transfers`, {
      membership_id: next.id,
    })
    assert.equal(done.status(), 302)
    assert.equal((await Membership.findOrFail(next.id)).role, 'owner')
    assert.equal((await Membership.findOrFail(mine.id)).role, 'admin')
    const audit = await db
      .from('audit_events')
      .where('action', 'tenants.ownership.transferred')
      .where('tenant_id', tenant.id)
      .firstOrFail()
    assert.deepInclude(audit.changes, { from_user_id: owner.id })
    // Now an admin: a second transfer is not theirs to make.
    assert.equal(
      (
        await web.submit('POST', `/t/${tenant.slug}/ownership-transfers`, {
          membership_id: next.id,
        })
      ).status(),
      403
    )
  })

  test('role changes are audited with before and after', async ({ client, assert }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const target = await MembershipFactory.merge({ tenantId: tenant.id, role: 'viewer' }).create()
    await (
      await signedIn(client, owner)
    ).submit('PUT', `/t/${tenant.slug}/members/${target.id}`, { role: 'admin' })
    const audit = await db
      .from('audit_events')
      .where('action', 'tenants.membership.role_changed')
      .where('subject_id', target.id)
      .firstOrFail()
    assert.deepEqual(audit.changes.role, ['viewer', 'admin'])
  })
})
