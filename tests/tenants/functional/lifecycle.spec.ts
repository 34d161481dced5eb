import { test } from '@japa/runner'
import { randomUUID } from 'node:crypto'
import { DateTime } from 'luxon'
import db from '@adonisjs/lucid/services/db'
import { Invitation, Membership, Tenant } from '#tenants'
import { purgeDueTenants, suspendTenant } from '#tenants/actions/lifecycle'
import { useTxtLookup } from '#tenants/services/domains'
import { fakeMail } from '#tests/helpers/mail'
import { enableTwoFactor } from '#tests/helpers/two_factor'
import { Session, signedIn } from '#tests/helpers/session'
import { UserFactory } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { MembershipFactory } from '#database/factories/tenant_factory'
import { ApiTokenFactory } from '#database/factories/api_token_factory'

test.group('tenants / suspension', () => {
  test('a suspended workspace is readable with a banner and refuses every write', async ({
    client,
    assert,
    cleanup,
  }) => {
    fakeMail(cleanup)
    const { owner, tenant } = await WorkspaceFactory.create()
    const member = await MembershipFactory.merge({ tenantId: tenant.id, role: 'member' }).create()
    await suspendTenant({ tenantId: tenant.id, reason: 'Unpaid invoice', actorLabel: 'test' })
    const web = await signedIn(client, owner)
    for (const path of ['', '/members', '/settings']) {
      const page = await web.get(`/t/${tenant.slug}${path}`)
      page.assertStatus(200)
      assert.include(page.text(), 'This workspace is suspended', path)
      assert.include(page.text(), 'Unpaid invoice', path)
    }
    const writes: [string, 'POST' | 'PUT' | 'DELETE', Record<string, unknown>][] = [
      ['/settings', 'PUT', { name: 'Nope', timeZone: 'UTC' }],
      ['/invitations', 'POST', { email: 'x@example.test', role: 'member' }],
      [`/members/${member.id}`, 'PUT', { role: 'admin' }],
      [`/members/${member.id}`, 'DELETE', {}],
      ['/domain', 'PUT', { domain: 'suspended.example.org' }],
      ['/deletion', 'POST', { confirm: tenant.slug }],
    ]
    for (const [path, method, form] of writes) {
      const response = await web.submit(method, `/t/${tenant.slug}${path}`, form)
      assert.equal(response.status(), 403, `${method} ${path}`)
      assert.include(response.text(), 'suspended', `${method} ${path}`)
    }
    const after = await Tenant.findOrFail(tenant.id)
    assert.equal(after.name, tenant.name)
    assert.isNull(after.customDomain)
    assert.isNull(after.deletionRequestedAt)
    assert.equal((await Membership.findOrFail(member.id)).role, 'member')
    assert.lengthOf(await Invitation.query().where('tenantId', tenant.id), 0)
    // The export stays available: reading is what a suspended workspace still allows.
    ;(await web.get(`/t/${tenant.slug}/export.json`)).assertStatus(200)
    assert.exists(
      await db
        .from('audit_events')
        .where('action', 'tenants.tenant.suspended')
        .where('tenant_id', tenant.id)
        .first()
    )
  })
})

test.group('tenants / deletion and export', () => {
  test('the owner downloads a JSON export of the workspace: members, invitations, no secrets', async ({
    client,
    assert,
    cleanup,
  }) => {
    // Unique: invitations to one address are limited per hour, in Redis across runs.
    const invitee = `pending-${randomUUID()}@example.test`
    fakeMail(cleanup)
    const { owner, tenant } = await WorkspaceFactory.create({ name: 'Exporters' })
    const member = await UserFactory.merge({ name: 'Mia Member' }).create()
    await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: member.id,
      role: 'member',
    }).create()
    const web = await signedIn(client, owner)
    await web.submit('POST', `/t/${tenant.slug}/invitations`, {
      email: invitee,
      role: 'viewer',
    })
    const response = await web.get(`/t/${tenant.slug}/export.json`)
    response.assertStatus(200)
    assert.include(response.header('content-type'), 'application/json')
    assert.match(
      response.header('content-disposition') ?? '',
      new RegExp(`attachment; filename="${tenant.slug}-export-\\d{4}-\\d{2}-\\d{2}\\.json"`)
    )
    const document = JSON.parse(response.text())
    assert.equal(document.format, 'agora.tenant-export')
    assert.equal(document.tenant.id, tenant.id)
    assert.sameMembers(
      document.memberships.map((m: any) => m.email),
      [owner.email, member.email]
    )
    assert.deepEqual(
      document.invitations.map((i: any) => i.email),
      [invitee]
    )
    assert.notInclude(response.text(), 'token_hash')
    assert.notInclude(response.text(), 'password')
    assert.notInclude(
      response.text(),
      (await Invitation.query().where('tenantId', tenant.id).firstOrFail()).tokenHash
    )
    assert.exists(
      await db
        .from('audit_events')
        .where('action', 'tenants.tenant.exported')
        .where('tenant_id', tenant.id)
        .first()
    )

    const memberWeb = await signedIn(client, member)
    ;(await memberWeb.get(`/t/${tenant.slug}/export.json`)).assertStatus(403)
  })

  test('deletion: confirmed by the slug, cancellable, purged only after the 7-day grace period', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const member = await UserFactory.create()
    await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: member.id,
      role: 'member',
    }).create()
    const memberToken = await ApiTokenFactory.create(member, tenant.id)
    const web = await signedIn(client, owner)

    // Deletion needs an export first (tests/tenants/functional/export.spec.ts).
    ;(await web.get(`/t/${tenant.slug}/export.json`)).assertStatus(200)
    const wrong = await web.submit('POST', `/t/${tenant.slug}/deletion`, {
      confirm: 'not-the-slug',
    })
    assert.equal(wrong.status(), 302)
    assert.isNull((await Tenant.findOrFail(tenant.id)).deletionRequestedAt)

    await web.submit('POST', `/t/${tenant.slug}/deletion`, { confirm: tenant.slug })
    const requested = await Tenant.findOrFail(tenant.id)
    assert.isNotNull(requested.deletionRequestedAt)
    assert.include((await web.get(`/t/${tenant.slug}`)).text(), 'scheduled for deletion')
    assert.include((await web.get(`/t/${tenant.slug}/settings`)).text(), 'Cancel the deletion')

    await web.submit('DELETE', `/t/${tenant.slug}/deletion`)
    assert.isNull((await Tenant.findOrFail(tenant.id)).deletionRequestedAt)
    await web.submit('POST', `/t/${tenant.slug}/deletion`, { confirm: tenant.slug })

    // Within the grace period nothing happens; after it the tenant, its rows and tokens go.
    assert.notInclude(
      (await purgeDueTenants()).map((o) => o.id),
      tenant.id
    )
    assert.exists(await Tenant.find(tenant.id))
    const outcomes = await purgeDueTenants({ now: DateTime.now().plus({ days: 7, minutes: 1 }) })
    assert.deepInclude(outcomes, { id: tenant.id, slug: tenant.slug, purged: true })
    assert.isNull(await Tenant.find(tenant.id))
    assert.lengthOf(await Membership.query().where('tenantId', tenant.id), 0)
    ;(await client.get('/api/v1/me').bearerToken(memberToken)).assertStatus(401)
    assert.lengthOf(await db.from('auth_access_tokens').where('tenant_id', tenant.id), 0)
    for (const action of [
      'tenants.tenant.deletion_requested',
      'tenants.tenant.deletion_cancelled',
      'tenants.tenant.purged',
    ]) {
      assert.exists(
        await db.from('audit_events').where('action', action).where('tenant_id', tenant.id).first(),
        action
      )
    }
  })
})

test.group('tenants / custom domain', (group) => {
  group.each.teardown(() => useTxtLookup())

  test('the owner sets a domain, sees the TXT record, and DNS verification makes it serve the workspace', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const web = await signedIn(client, owner)
    const domain = `${tenant.slug}.customer.example.org`
    await web.submit('PUT', `/t/${tenant.slug}/domain`, { domain: ` ${domain.toUpperCase()}. ` })
    const saved = await Tenant.findOrFail(tenant.id)
    assert.equal(saved.customDomain, domain)
    assert.match(saved.domainVerificationToken!, /^[0-9a-f]{32}$/)
    const settings = (await web.get(`/t/${tenant.slug}/settings`)).text()
    assert.include(settings, `_agora.${domain}`)
    assert.include(settings, `agora-verification=${saved.domainVerificationToken}`)

    // Not verified yet: the domain does not resolve the workspace.
    ;(await web.get('/members', { host: domain })).assertStatus(404)

    let asked = ''
    useTxtLookup(async (name) => {
      asked = name
      return [['unrelated'], ['agora-verification=', saved.domainVerificationToken!]]
    })
    await web.submit('POST', `/t/${tenant.slug}/domain/verification`)
    assert.equal(asked, `_agora.${domain}`)
    assert.isNotNull((await Tenant.findOrFail(tenant.id)).domainVerifiedAt)
    const onDomain = await web.get('/members', { host: domain })
    onDomain.assertStatus(200)
    assert.include(onDomain.text(), 'Members')
    assert.exists(
      await db
        .from('audit_events')
        .where('action', 'tenants.domain.verified')
        .where('tenant_id', tenant.id)
        .first()
    )
  })

  test('a missing record and unreachable DNS are messages, never errors', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const web = await signedIn(client, owner)
    await web.submit('PUT', `/t/${tenant.slug}/domain`, {
      domain: `${tenant.slug}.nodns.example.org`,
    })
    const cases: [string, () => Promise<string[][]>, string][] = [
      [
        'missing',
        async () => Promise.reject(Object.assign(new Error('nx'), { code: 'ENOTFOUND' })),
        'No TXT record found',
      ],
      ['other value', async () => [['agora-verification=someone-else']], 'do not contain'],
      [
        'unreachable',
        async () => Promise.reject(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })),
        'DNS could not be reached',
      ],
      ['hanging', () => new Promise(() => {}), 'DNS could not be reached'],
    ]
    for (const [label, lookup, message] of cases) {
      useTxtLookup(lookup)
      const response = await web.submit('POST', `/t/${tenant.slug}/domain/verification`)
      assert.equal(response.status(), 302, label)
      assert.include((await web.get(`/t/${tenant.slug}/settings`)).text(), message, label)
    }
    assert.isNull((await Tenant.findOrFail(tenant.id)).domainVerifiedAt)
  }).timeout(20_000)

  test('invalid, reserved and taken domains are refused with a message', async ({
    client,
    assert,
  }) => {
    const first = await WorkspaceFactory.create()
    const second = await WorkspaceFactory.create()
    const taken = `${first.tenant.slug}.taken.example.org`
    await (
      await signedIn(client, first.owner)
    ).submit('PUT', `/t/${first.tenant.slug}/domain`, { domain: taken })
    // Only a verified domain is taken (a pending claim reserves nothing: domain_claims.spec).
    await Tenant.query()
      .where('id', first.tenant.id)
      .update({ domainVerifiedAt: DateTime.now().toJSDate() })
    const web = await signedIn(client, second.owner)
    for (const [domain, message] of [
      ['https://docs.example.com/path', 'host name only'],
      ['no_dots', 'valid host name'],
      ['10.0.0.1', 'valid host name'],
      ['-bad-.example.com', 'valid host name'],
      ['acme.localhost', 'belong to Agora'],
      [taken, 'already used by another workspace'],
    ]) {
      const response = await web.submit('PUT', `/t/${second.tenant.slug}/domain`, { domain })
      assert.equal(response.status(), 302, domain)
      assert.include((await web.get(`/t/${second.tenant.slug}/settings`)).text(), message, domain)
    }
    assert.isNull((await Tenant.findOrFail(second.tenant.id)).customDomain)
  })
})

test.group('tenants / two-factor requirement', () => {
  test('an owner without two-factor cannot require it; with it, members without it are turned away', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const member = await UserFactory.create()
    await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: member.id,
      role: 'member',
    }).create()
    const token = await ApiTokenFactory.create(member, tenant.id)
    const ownerWeb = await signedIn(client, owner)
    await ownerWeb.submit('PUT', `/t/${tenant.slug}/security`, { require_two_factor: 'on' })
    assert.isFalse((await Tenant.findOrFail(tenant.id)).requireTwoFactor)
    assert.include(
      (await ownerWeb.get(`/t/${tenant.slug}/settings`)).text(),
      'Turn on two-factor authentication for your own account first'
    )

    await enableTwoFactor(owner)
    await ownerWeb.submit('PUT', `/t/${tenant.slug}/security`, { require_two_factor: 'on' })
    assert.isTrue((await Tenant.findOrFail(tenant.id)).requireTwoFactor)
    ;(await ownerWeb.get(`/t/${tenant.slug}`)).assertStatus(200)

    const memberWeb = await signedIn(client, member)
    const turnedAway = await memberWeb.get(`/t/${tenant.slug}/members`)
    assert.equal(turnedAway.status(), 302)
    assert.equal(turnedAway.header('location'), '/account#two-factor')
    assert.include((await memberWeb.get('/account')).text(), 'requires two-factor authentication')
    const api = await client.get('/api/v1/me').bearerToken(token)
    api.assertStatus(403)
    assert.include(api.body().detail, 'two-factor')

    await enableTwoFactor(member)
    ;(await memberWeb.get(`/t/${tenant.slug}/members`)).assertStatus(200)
    ;(await client.get('/api/v1/me').bearerToken(token)).assertStatus(200)
    assert.exists(
      await db
        .from('audit_events')
        .where('action', 'tenants.tenant.two_factor_requirement_changed')
        .where('tenant_id', tenant.id)
        .first()
    )
  })

  test('signed-out visitors of a tenant page are sent to log in, not told anything about it', async ({
    client,
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create()
    const response = await new Session(client).get(`/t/${tenant.slug}/members`)
    assert.equal(response.status(), 302)
    assert.match(response.header('location') ?? '', /^\/login\?next=/)
  })
})
