import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { Invitation } from '#tenants'
import { acceptInvitation, createInvitation } from '#tenants/actions/invitations'
import { MembershipFactory } from '#database/factories/tenant_factory'
import { InvitationMail } from '#tenants/services/invitation_mail'
import { capturedMails, fakeMail } from '#tests/helpers/mail'
import { signedIn, testIp } from '#tests/helpers/session'
import { UserFactory, uniqueEmail } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

const JSON_CLIENT = { accept: 'application/json' }

test.group('tenants / invitation limits', () => {
  test('one address gets at most 3 invitation mails an hour over all workspaces; beyond, 429 and no mail', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const victim = uniqueEmail('victim')
    const [a, b, c] = [
      await WorkspaceFactory.create(),
      await WorkspaceFactory.create(),
      await WorkspaceFactory.create(),
    ]
    const webA = await signedIn(client, a.owner)
    const webB = await signedIn(client, b.owner)
    const webC = await signedIn(client, c.owner)

    // Three mails: an invitation, its resend, another workspace's invitation.
    await webA.submit('POST', `/t/${a.tenant.slug}/invitations`, { email: victim, role: 'member' })
    const invitation = await Invitation.query().where('tenantId', a.tenant.id).firstOrFail()
    const resent = await webA.submit(
      'POST',
      `/t/${a.tenant.slug}/invitations/${invitation.id}/renewal`
    )
    assert.equal(resent.status(), 302)
    await webB.submit('POST', `/t/${b.tenant.slug}/invitations`, { email: victim, role: 'member' })
    assert.lengthOf(capturedMails(fake, InvitationMail, victim), 3)

    // A fourth, from a third workspace: a message on the page, a 429 problem for JSON clients.
    const refused = await webC.submit('POST', `/t/${c.tenant.slug}/invitations`, {
      email: victim.toUpperCase(),
      role: 'member',
    })
    assert.equal(refused.status(), 302)
    assert.equal(refused.header('location'), `/t/${c.tenant.slug}/members`)
    const page = await webC.follow(refused)
    assert.include(page.text(), `${victim} was sent too many invitations in the last hour`)
    assert.notInclude(page.text(), 'Invitation sent')
    const json = await webC.submit(
      'POST',
      `/t/${c.tenant.slug}/invitations`,
      { email: victim, role: 'member' },
      JSON_CLIENT
    )
    json.assertStatus(429)
    assert.include(String(json.header('content-type')), 'application/problem+json')
    assert.include(json.body().detail, 'too many invitations')
    const retryAfter = Number(json.header('retry-after'))
    assert.isAtLeast(retryAfter, 1)
    assert.isAtMost(retryAfter, 3600)
    assert.isNull(await Invitation.query().where('tenantId', c.tenant.id).first())

    // Resending counts too: refused, the link already mailed keeps working.
    await invitation.refresh()
    const again = await webA.submit(
      'POST',
      `/t/${a.tenant.slug}/invitations/${invitation.id}/renewal`,
      {},
      JSON_CLIENT
    )
    again.assertStatus(429)
    const unchanged = await Invitation.findOrFail(invitation.id)
    assert.equal(unchanged.tokenHash, invitation.tokenHash)
    assert.lengthOf(capturedMails(fake, InvitationMail, victim), 3)
  })

  test('one inviter, and one client address, send at most 20 invitations an hour', async ({
    client,
    assert,
    cleanup,
  }) => {
    const fake = fakeMail(cleanup)
    const { owner, tenant } = await WorkspaceFactory.create({ plan: 'business' })
    const web = await signedIn(client, owner)
    for (let i = 0; i < 20; i++) {
      const sent = await web.submit('POST', `/t/${tenant.slug}/invitations`, {
        email: uniqueEmail(`bulk${i}`),
        role: 'viewer',
      })
      assert.equal(sent.header('location'), `/t/${tenant.slug}/members`, `invitation ${i + 1}`)
    }
    assert.lengthOf(capturedMails(fake, InvitationMail), 20)

    const refused = await web.follow(
      await web.submit('POST', `/t/${tenant.slug}/invitations`, {
        email: uniqueEmail('one-more'),
        role: 'viewer',
      })
    )
    assert.include(refused.text(), 'Too many invitations were sent from your account or network')

    // The same inviter from another address is still refused …
    const elsewhere = await signedIn(client, owner)
    const fromElsewhere = await elsewhere.submit(
      'POST',
      `/t/${tenant.slug}/invitations`,
      { email: uniqueEmail('elsewhere'), role: 'viewer' },
      JSON_CLIENT
    )
    fromElsewhere.assertStatus(429)
    assert.isAtLeast(Number(fromElsewhere.header('retry-after')), 1)

    // … and so is another inviter from the first address.
    const other = await WorkspaceFactory.create()
    const sameNetwork = await signedIn(client, other.owner)
    Object.assign(sameNetwork, { ip: web.ip })
    const fromSameNetwork = await sameNetwork.submit(
      'POST',
      `/t/${other.tenant.slug}/invitations`,
      { email: uniqueEmail('neighbour'), role: 'viewer' },
      JSON_CLIENT
    )
    fromSameNetwork.assertStatus(429)

    assert.lengthOf(capturedMails(fake, InvitationMail), 20)
    assert.lengthOf(await Invitation.query().where('tenantId', tenant.id), 20)
    assert.isNull(await Invitation.query().where('tenantId', other.tenant.id).first())
  }).timeout(60_000)
})

test.group("tenants / the plan's member limit", () => {
  test('invitations stop at the plan limit (pending ones count), acceptances cannot exceed it, upgrading makes room', async ({
    client,
    assert,
    cleanup,
  }) => {
    fakeMail(cleanup)
    // Free allows 3 members: the owner plus two.
    const { owner, tenant } = await WorkspaceFactory.create()
    const web = await signedIn(client, owner)
    const invite = (email: string) =>
      web.submit('POST', `/t/${tenant.slug}/invitations`, { email, role: 'member' })
    const first = uniqueEmail('first')
    const { token } = await createInvitation({
      tenant,
      email: first,
      role: 'member',
      inviter: owner,
      clientIp: testIp(),
    })
    assert.equal(
      (await invite(uniqueEmail('second'))).header('location'),
      `/t/${tenant.slug}/members`
    )
    const refused = await web.follow(await invite(uniqueEmail('third')))
    assert.include(refused.text(), 'The Free plan allows 3 members (pending invitations count)')
    assert.lengthOf(await db.from('invitations').where('tenant_id', tenant.id), 2)

    // A member joins another way meanwhile: the pending invitations can no longer all be accepted.
    for (let i = 0; i < 2; i++)
      await MembershipFactory.merge({ tenantId: tenant.id, role: 'viewer' }).create()
    const invitee = await UserFactory.merge({ email: first }).create()
    await assert.rejects(
      () => acceptInvitation({ token, user: invitee }),
      /The Free plan allows 3 members: this workspace has 3/
    )
    assert.lengthOf(await db.from('memberships').where('tenant_id', tenant.id), 3)

    // On a plan without a member limit the same acceptance goes through.
    await tenant.merge({ planId: 'business' }).save()
    const joined = await acceptInvitation({ token, user: invitee })
    assert.equal(joined?.alreadyMember, false)
    assert.lengthOf(await db.from('memberships').where('tenant_id', tenant.id), 4)
  })
})

test.group("tenants / the plan's member limit under concurrency (PostgreSQL)", () => {
  test('six people accepting at once into a workspace with room for two: two join', async ({
    assert,
  }) => {
    // Committed (real connections): the workspace and its people are deleted afterwards.
    const { owner, tenant } = await WorkspaceFactory.create({ plan: 'business' })
    const people = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        UserFactory.merge({ email: uniqueEmail(`race${i}`) }).create()
      )
    )
    try {
      const tokens: string[] = []
      for (const person of people)
        tokens.push(
          (
            await createInvitation({
              tenant,
              email: person.email,
              role: 'member',
              inviter: owner,
              clientIp: testIp(),
            })
          ).token
        )
      // Free allows 3: the owner and two of the six.
      await tenant.merge({ planId: 'free' }).save()
      const outcomes = await Promise.allSettled(
        people.map((person, i) => acceptInvitation({ token: tokens[i], user: person }))
      )
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 2)
      for (const outcome of outcomes)
        if (outcome.status === 'rejected') assert.match(String(outcome.reason), /allows 3 members/)
      assert.lengthOf(await db.from('memberships').where('tenant_id', tenant.id), 3)
    } finally {
      await db.from('tenants').where('id', tenant.id).delete()
      await db
        .from('users')
        .whereIn('id', [owner.id, ...people.map((p) => p.id)])
        .delete()
    }
  })
    .tags(['@committed'])
    .skip(
      !process.env.DATABASE_URL,
      'needs PostgreSQL: set DATABASE_URL (PGlite serialises every query, so concurrency proves nothing on it)'
    )
})
