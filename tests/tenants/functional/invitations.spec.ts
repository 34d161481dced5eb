import { test } from '@japa/runner'
import { DateTime } from 'luxon'
import db from '@adonisjs/lucid/services/db'
import { User } from '#auth'
import { Invitation, Membership } from '#tenants'
import { hashInvitationToken } from '#tenants/actions/invitations'
import { InvitationMail } from '#tenants/services/invitation_mail'
import { capturedMails, fakeMail, pathOf } from '#tests/helpers/mail'
import { Session, signedIn } from '#tests/helpers/session'
import { uniqueEmail, UserFactory, USER_PASSWORD } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { MembershipFactory } from '#database/factories/tenant_factory'

/** Paths of the invitation links mailed to `to`, oldest first. */
function invitationPaths(fake: ReturnType<typeof fakeMail>, to: string) {
  return capturedMails(fake, InvitationMail, to).map((mail) => pathOf(mail.link))
}

test.group('tenants / invitations', () => {
  test('an owner whose own email is not confirmed cannot invite: told why, nothing sent', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const owner = await UserFactory.apply('unverified').create()
    const { tenant } = await WorkspaceFactory.create({ owner })
    const web = await signedIn(client, owner)
    const response = await web.submit('POST', `/t/${tenant.slug}/invitations`, {
      email: uniqueEmail('invitee'),
      role: 'member',
    })
    assert.equal(response.status(), 302)
    const page = await web.follow(response)
    assert.include(page.text(), 'Confirm your email address')
    assert.lengthOf(capturedMails(fake, InvitationMail), 0)
    assert.isNull(await Invitation.query().where('tenantId', tenant.id).first())
  })

  test('an owner invites by email; the link carries a single-use token stored only as its hash', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const { owner, tenant } = await WorkspaceFactory.create()
    const web = await signedIn(client, owner)
    const email = uniqueEmail('Invitee').replace('Invitee', 'INVITEE')
    const response = await web.submit('POST', `/t/${tenant.slug}/invitations`, {
      email,
      role: 'viewer',
    })
    assert.equal(response.status(), 302)
    assert.equal(response.header('location'), `/t/${tenant.slug}/members`)

    const [path] = invitationPaths(fake, email.toLowerCase())
    assert.match(path, /^\/invitations\/[A-Za-z0-9_-]{43}$/)
    const token = path.split('/').pop()!
    const row = await Invitation.query().where('tenantId', tenant.id).firstOrFail()
    assert.equal(row.email, email.toLowerCase())
    assert.equal(row.role, 'viewer')
    assert.equal(row.tokenHash, hashInvitationToken(token))
    assert.notInclude(
      JSON.stringify(await db.from('invitations').where('id', row.id).first()),
      token
    )
    assert.closeTo(row.expiresAt.diffNow('days').days, 7, 0.01)

    const members = await web.get(`/t/${tenant.slug}/members`)
    assert.include(members.text(), email.toLowerCase(), 'the pending invitation is listed')
    const audit = await db
      .from('audit_events')
      .where('action', 'tenants.invitation.created')
      .where('subject_id', row.id)
      .first()
    assert.equal(audit.tenant_id, tenant.id)
  })

  test('an existing user accepts while signed in with the invited address; the link then stops working', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const { owner, tenant } = await WorkspaceFactory.create()
    const invitee = await UserFactory.create()
    const ownerWeb = await signedIn(client, owner)
    await ownerWeb.submit('POST', `/t/${tenant.slug}/invitations`, {
      email: invitee.email.toUpperCase(),
      role: 'admin',
    })
    const [path] = invitationPaths(fake, invitee.email.toLowerCase())

    // Signed out: the page offers to log in, and changes nothing.
    const anonymous = await new Session(client).get(path)
    anonymous.assertStatus(200)
    assert.include(anonymous.text(), `/login?next=${encodeURIComponent(path)}`)
    assert.equal(anonymous.header('referrer-policy'), 'no-referrer')

    const web = await signedIn(client, invitee)
    const page = await web.get(path)
    assert.include(page.text(), `action="${path}/acceptance"`)
    const pending = await Invitation.query().where('tenantId', tenant.id).firstOrFail()
    assert.isNull(pending.acceptedAt, 'GET never accepts')

    const accepted = await web.submit('POST', `${path}/acceptance`)
    assert.equal(accepted.status(), 302)
    assert.equal(accepted.header('location'), `/t/${tenant.slug}`)
    const membership = await Membership.query()
      .where('tenantId', tenant.id)
      .where('userId', invitee.id)
      .firstOrFail()
    assert.equal(membership.role, 'admin')
    await pending.refresh()
    assert.isNotNull(pending.acceptedAt)
    assert.equal(pending.acceptedBy, invitee.id)
    ;(await web.get(`/t/${tenant.slug}`)).assertStatus(200)

    // Used: the same link is refused, on the page and on a second POST.
    const again = await web.get(path)
    again.assertStatus(410)
    assert.include(again.text(), 'already used')
    const replay = await web.submit('POST', `${path}/acceptance`)
    assert.equal(replay.header('location'), path)
    assert.include((await web.get(path)).text(), 'already used')
    assert.lengthOf(
      await Membership.query().where('tenantId', tenant.id).where('userId', invitee.id),
      1
    )
    assert.exists(
      await db
        .from('audit_events')
        .where('action', 'tenants.invitation.accepted')
        .where('subject_id', pending.id)
        .first()
    )
    assert.exists(
      await db
        .from('audit_events')
        .where('action', 'tenants.membership.added')
        .where('subject_id', membership.id)
        .first()
    )
  })

  test('a new user signs up on the invitation page: verified account, joined, then logs in', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const { owner, tenant } = await WorkspaceFactory.create()
    const email = uniqueEmail('newcomer')
    await (
      await signedIn(client, owner)
    ).submit('POST', `/t/${tenant.slug}/invitations`, { email, role: 'member' })
    const [path] = invitationPaths(fake, email)

    const web = new Session(client)
    const page = await web.get(path)
    assert.include(page.text(), `action="${path}/account"`)
    assert.notExists(await User.findBy('email', email), 'GET creates nothing')

    const short = await web.submit('POST', `${path}/account`, { name: 'Nia', password: 'short' })
    assert.equal(short.header('location'), path, 'back to the invitation, which sends no Referer')
    assert.include((await web.get(path)).text(), 'at least 8')
    assert.notExists(await User.findBy('email', email))

    const created = await web.submit('POST', `${path}/account`, {
      name: 'Nia',
      password: USER_PASSWORD,
    })
    assert.equal(created.status(), 302)
    assert.equal(
      created.header('location'),
      `/login?next=${encodeURIComponent(`/t/${tenant.slug}`)}`
    )
    const user = await User.findByOrFail('email', email)
    assert.isNotNull(user.emailVerifiedAt, 'the link proved the address')
    assert.equal(
      (await Membership.query().where('tenantId', tenant.id).where('userId', user.id).firstOrFail())
        .role,
      'member'
    )
    assert.exists(
      await db
        .from('audit_events')
        .where('action', 'tenants.invitation.account_created')
        .where('subject_id', user.id)
        .first()
    )

    const login = await web.login(email, USER_PASSWORD, { next: `/t/${tenant.slug}` })
    assert.equal(login.header('location'), `/t/${tenant.slug}`)
    ;(await web.get(`/t/${tenant.slug}`)).assertStatus(200)

    // The account exists now: the link is used, and signing up again is refused.
    const twice = await new Session(client).submit('POST', `${path}/account`, {
      name: 'Nia',
      password: USER_PASSWORD,
    })
    assert.equal(twice.header('location'), path)
    assert.lengthOf(await User.query().whereRaw('lower(email) = ?', [email]), 1)
  })

  test('signing up is refused when the invited address already has an account', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const { owner, tenant } = await WorkspaceFactory.create()
    const existing = await UserFactory.create()
    await (
      await signedIn(client, owner)
    ).submit('POST', `/t/${tenant.slug}/invitations`, { email: existing.email, role: 'member' })
    const [path] = invitationPaths(fake, existing.email)
    const web = new Session(client)
    const response = await web.submit('POST', `${path}/account`, {
      name: 'Mallory',
      password: 'another long passphrase',
    })
    assert.equal(response.header('location'), path)
    assert.include((await web.get(path)).text(), 'log in to accept')
    assert.isNull(
      await Membership.query().where('tenantId', tenant.id).where('userId', existing.id).first()
    )
  })

  test('an expired invitation is refused on the page and on accept', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const { owner, tenant } = await WorkspaceFactory.create()
    const invitee = await UserFactory.create()
    await (
      await signedIn(client, owner)
    ).submit('POST', `/t/${tenant.slug}/invitations`, { email: invitee.email, role: 'member' })
    const [path] = invitationPaths(fake, invitee.email)
    await Invitation.query()
      .where('tenantId', tenant.id)
      .update({ expiresAt: DateTime.now().minus({ minutes: 1 }).toJSDate() })

    const web = await signedIn(client, invitee)
    const page = await web.get(path)
    page.assertStatus(410)
    assert.include(page.text(), 'expired')
    await web.submit('POST', `${path}/acceptance`)
    assert.isNull(
      await Membership.query().where('tenantId', tenant.id).where('userId', invitee.id).first()
    )
    const signup = await new Session(client).submit('POST', `${path}/account`, {
      name: 'Late',
      password: USER_PASSWORD,
    })
    assert.equal(signup.header('location'), path)
  })

  test('resending issues a new link (the old one stops working); revoking withdraws it', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const { owner, tenant } = await WorkspaceFactory.create()
    const invitee = await UserFactory.create()
    const ownerWeb = await signedIn(client, owner)
    await ownerWeb.submit('POST', `/t/${tenant.slug}/invitations`, {
      email: invitee.email,
      role: 'member',
    })
    const invitation = await Invitation.query().where('tenantId', tenant.id).firstOrFail()
    await Invitation.query()
      .where('id', invitation.id)
      .update({ expiresAt: DateTime.now().plus({ hours: 1 }).toJSDate() })

    const renewed = await ownerWeb.submit(
      'POST',
      `/t/${tenant.slug}/invitations/${invitation.id}/renewal`
    )
    assert.equal(renewed.status(), 302)
    const [oldPath, newPath] = invitationPaths(fake, invitee.email)
    assert.notEqual(oldPath, newPath)
    const web = await signedIn(client, invitee)
    ;(await web.get(oldPath)).assertStatus(404)
    ;(await web.get(newPath)).assertStatus(200)
    await invitation.refresh()
    assert.closeTo(invitation.expiresAt.diffNow('days').days, 7, 0.01, 'a fresh 7-day expiry')

    const revoked = await ownerWeb.submit(
      'DELETE',
      `/t/${tenant.slug}/invitations/${invitation.id}`
    )
    assert.equal(revoked.status(), 302)
    const page = await web.get(newPath)
    page.assertStatus(410)
    assert.include(page.text(), 'withdrawn')
    await web.submit('POST', `${newPath}/acceptance`)
    assert.isNull(
      await Membership.query().where('tenantId', tenant.id).where('userId', invitee.id).first()
    )
    assert.include(
      (await ownerWeb.get(`/t/${tenant.slug}/members`)).text(),
      `Invitation to ${invitee.email.toLowerCase()} revoked.`
    )
    assert.notInclude(
      (await ownerWeb.get(`/t/${tenant.slug}/members`)).text(),
      invitee.email.toLowerCase(),
      'no longer pending'
    )
    for (const action of ['tenants.invitation.renewed', 'tenants.invitation.revoked']) {
      assert.exists(
        await db
          .from('audit_events')
          .where('action', action)
          .where('subject_id', invitation.id)
          .first(),
        action
      )
    }
  })

  test('a signed-in user with another address is refused with a clear message', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const { owner, tenant } = await WorkspaceFactory.create()
    const email = uniqueEmail('someone')
    await (
      await signedIn(client, owner)
    ).submit('POST', `/t/${tenant.slug}/invitations`, { email, role: 'member' })
    const [path] = invitationPaths(fake, email)
    const stranger = await UserFactory.create()
    const web = await signedIn(client, stranger)
    const page = await web.get(path)
    assert.include(page.text(), 'data-testid="wrong-email"')
    assert.include(page.text(), stranger.email)

    const response = await web.submit('POST', `${path}/acceptance`)
    assert.equal(response.header('location'), path)
    const after = await web.get(path)
    assert.include(
      after.text(),
      `This invitation was sent to ${email}, but you are signed in as ${stranger.email}`
    )
    assert.isNull(
      await Membership.query().where('tenantId', tenant.id).where('userId', stranger.id).first()
    )
    assert.equal(
      (await Invitation.query().where('tenantId', tenant.id).firstOrFail()).status,
      'pending'
    )
  })

  test('members are not invited again; one who joined meanwhile keeps their role and closes the invitation', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const { owner, tenant } = await WorkspaceFactory.create()
    const member = await UserFactory.create()
    await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: member.id,
      role: 'viewer',
    }).create()
    const ownerWeb = await signedIn(client, owner)
    await ownerWeb.submit('POST', `/t/${tenant.slug}/invitations`, {
      email: member.email.toUpperCase(),
      role: 'admin',
    })
    assert.include(
      (await ownerWeb.get(`/t/${tenant.slug}/members`)).text(),
      'is already a member of this workspace'
    )
    assert.lengthOf(await Invitation.query().where('tenantId', tenant.id), 0)

    const later = await UserFactory.create()
    await ownerWeb.submit('POST', `/t/${tenant.slug}/invitations`, {
      email: later.email,
      role: 'admin',
    })
    const [path] = invitationPaths(fake, later.email)
    await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: later.id,
      role: 'viewer',
    }).create()
    const web = await signedIn(client, later)
    const accepted = await web.submit('POST', `${path}/acceptance`)
    assert.equal(accepted.header('location'), `/t/${tenant.slug}`)
    assert.include((await web.get(`/t/${tenant.slug}`)).text(), 'already a member')
    const memberships = await Membership.query()
      .where('tenantId', tenant.id)
      .where('userId', later.id)
    assert.lengthOf(memberships, 1)
    assert.equal(memberships[0].role, 'viewer')
    assert.equal(
      (await Invitation.query().where('tenantId', tenant.id).firstOrFail()).status,
      'accepted'
    )
  })

  test('a second invitation to a pending address is refused; an expired one is renewed instead', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const { owner, tenant } = await WorkspaceFactory.create()
    const email = uniqueEmail('twice')
    const web = await signedIn(client, owner)
    await web.submit('POST', `/t/${tenant.slug}/invitations`, { email, role: 'member' })
    await web.submit('POST', `/t/${tenant.slug}/invitations`, { email, role: 'admin' })
    assert.include(
      (await web.get(`/t/${tenant.slug}/members`)).text(),
      'already has a pending invitation'
    )
    assert.lengthOf(invitationPaths(fake, email), 1)

    await Invitation.query()
      .where('tenantId', tenant.id)
      .update({ expiresAt: DateTime.now().minus({ days: 1 }).toJSDate() })
    await web.submit('POST', `/t/${tenant.slug}/invitations`, { email, role: 'admin' })
    const rows = await Invitation.query().where('tenantId', tenant.id)
    assert.lengthOf(rows, 1)
    assert.equal(rows[0].role, 'admin')
    assert.equal(rows[0].status, 'pending')
    assert.lengthOf(invitationPaths(fake, email), 2)
  })

  test("another tenant's invitation id is a 404 for resend and revoke, and stays untouched", async ({
    client,
    assert,
    cleanup,
  }) => {
    fakeMail(cleanup)
    const a = await WorkspaceFactory.create({ name: 'Alpha' })
    const b = await WorkspaceFactory.create({ name: 'Beta' })
    await (
      await signedIn(client, b.owner)
    ).submit('POST', `/t/${b.tenant.slug}/invitations`, {
      email: uniqueEmail('b'),
      role: 'member',
    })
    const foreign = await Invitation.query().where('tenantId', b.tenant.id).firstOrFail()
    const web = await signedIn(client, a.owner)
    assert.equal(
      (await web.submit('POST', `/t/${a.tenant.slug}/invitations/${foreign.id}/renewal`)).status(),
      404
    )
    assert.equal(
      (await web.submit('DELETE', `/t/${a.tenant.slug}/invitations/${foreign.id}`)).status(),
      404
    )
    assert.equal(
      (await web.submit('DELETE', `/t/${a.tenant.slug}/invitations/not-a-uuid`)).status(),
      404
    )
    const after = await Invitation.findOrFail(foreign.id)
    assert.equal(after.tokenHash, foreign.tokenHash)
    assert.isNull(after.revokedAt)
  })

  test('only owners and admins invite; nobody invites an owner; bad input is a message', async ({
    client,
    assert,
    cleanup,
  }) => {
    fakeMail(cleanup)
    const { tenant } = await WorkspaceFactory.create({ plan: 'business' })
    const roles = {
      admin: await UserFactory.create(),
      member: await UserFactory.create(),
      viewer: await UserFactory.create(),
    }
    for (const [role, user] of Object.entries(roles))
      await MembershipFactory.merge({
        tenantId: tenant.id,
        userId: user.id,
        role: role as any,
      }).create()

    const admin = await signedIn(client, roles.admin)
    assert.equal(
      (
        await admin.submit('POST', `/t/${tenant.slug}/invitations`, {
          email: uniqueEmail('adm'),
          role: 'admin',
        })
      ).status(),
      302
    )
    for (const role of ['member', 'viewer'] as const) {
      const web = await signedIn(client, roles[role])
      const refused = await web.submit('POST', `/t/${tenant.slug}/invitations`, {
        email: uniqueEmail(role),
        role: 'member',
      })
      assert.equal(refused.status(), 403, role)
    }
    const owner = await admin.submit('POST', `/t/${tenant.slug}/invitations`, {
      email: uniqueEmail('own'),
      role: 'owner',
    })
    assert.equal(owner.status(), 302)
    const bad = await admin.submit('POST', `/t/${tenant.slug}/invitations`, {
      email: 'not an email',
      role: 'member',
    })
    assert.equal(bad.status(), 302)
    assert.lengthOf(
      await Invitation.query().where('tenantId', tenant.id),
      1,
      'only the valid admin invitation exists'
    )
  })

  test('unknown and malformed tokens are 404 pages; nothing is created', async ({
    client,
    assert,
  }) => {
    const web = new Session(client)
    for (const token of ['x'.repeat(43), 'short', '%E2%9C%93', 'a'.repeat(300)]) {
      const page = await web.get(`/invitations/${token}`)
      page.assertStatus(404)
      assert.include(page.text(), 'not valid')
    }
    // A NUL is refused at the edge before any lookup (tests/core/functional/bad_input.spec.ts).
    assert.equal((await web.get('/invitations/%00', { accept: 'application/json' })).status(), 422)
    const user = await UserFactory.create()
    const signed = await signedIn(client, user)
    const response = await signed.submit('POST', `/invitations/${'y'.repeat(43)}/acceptance`)
    assert.equal(response.status(), 404)
  })
})
