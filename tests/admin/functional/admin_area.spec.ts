import { test } from '@japa/runner'
import router from '@adonisjs/core/services/router'
import db from '@adonisjs/lucid/services/db'
import { randomUUID } from 'node:crypto'
import { balanceOf } from '#credits'
import { flagEnabled, setFlag, verifyAuditChain } from '#platform'
import { Tenant } from '#tenants'
import { setUserDisabled, User } from '#auth'
import { signedIn } from '#tests/helpers/session'
import { UserFactory } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { MembershipFactory } from '#database/factories/tenant_factory'

/** Every admin route, from the router (so a new one cannot be forgotten here). */
function adminRoutes() {
  const seen = new Map<string, string[]>()
  for (const routes of Object.values(router.toJSON()))
    for (const route of routes)
      if (route.pattern === '/admin' || route.pattern.startsWith('/admin/'))
        seen.set(route.pattern, [
          ...new Set([
            ...(seen.get(route.pattern) ?? []),
            ...route.methods.map((m) => m.toUpperCase()),
          ]),
        ])
  return [...seen].flatMap(([pattern, methods]) =>
    methods.filter((m) => m !== 'HEAD').map((method) => ({ method, pattern }))
  )
}

const fill = (pattern: string) => pattern.replace(/:[a-zA-Z_]+/g, () => randomUUID())

async function auditCount() {
  const row = await db.from('audit_events').count('* as n').first()
  return Number(row.n)
}

test.group('admin / the admin area', () => {
  test('a tenant owner and a signed-out visitor get 404 from every admin page and action, and change nothing', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const routes = adminRoutes()
    assert.isAbove(routes.length, 15)
    // Real ids too: the owner's own tenant and user are not theirs to administer.
    const real = (pattern: string) =>
      pattern.startsWith('/admin/tenants/:id')
        ? pattern.replace(':id', tenant.id)
        : pattern.startsWith('/admin/users/:id')
          ? pattern.replace(':id', owner.id)
          : fill(pattern)
    const web = await signedIn(client, owner)
    const before = await auditCount()
    for (const { method, pattern } of routes) {
      for (const url of [fill(pattern), real(pattern)]) {
        const asOwner =
          method === 'GET'
            ? await web.get(url)
            : await web.submit(method === 'PATCH' ? 'PUT' : (method as any), url, {
                reason: 'x',
                credits: '1000',
                plan: 'business',
                key: 'marketplace.publish',
                scope: 'global',
                state: 'off',
              })
        assert.equal(asOwner.status(), 404, `owner ${method} ${url}`)
        // Signed out, a write without a CSRF token is refused even before the admin guard.
        const anonymous = await client[method.toLowerCase() as 'get'](url).redirects(0)
        if (method === 'GET') assert.equal(anonymous.status(), 404, `signed out GET ${url}`)
        else assert.oneOf(anonymous.status(), [302, 404], `signed out ${method} ${url}`)
      }
    }
    // (The owner's own sign-in wrote the only audit rows.)
    assert.equal(
      await db
        .from('audit_events')
        .where('id', '>', 0)
        .whereNot('action', 'like', 'auth.login%')
        .count('* as n')
        .first()
        .then((r) => Number(r.n)),
      await db
        .from('audit_events')
        .whereNot('action', 'like', 'auth.login%')
        .count('* as n')
        .first()
        .then((r) => Number(r.n))
    )
    assert.isAtMost((await auditCount()) - before, 0)
    assert.equal((await balanceOf(tenant.id)).balance, 0n)
    assert.isNull((await Tenant.findOrFail(tenant.id)).suspendedAt)
  })

  test('a platform admin opens every admin page', async ({ client, assert }) => {
    const admin = await UserFactory.apply('platformAdmin').create()
    const web = await signedIn(client, admin)
    for (const { method, pattern } of adminRoutes())
      if (method === 'GET' && !pattern.includes(':')) {
        const page = await web.get(pattern)
        assert.equal(page.status(), 200, pattern)
      }
    const system = await web.get('/admin')
    assert.include(system.text(), 'data-testid="check-database">ok')
    assert.match(system.text(), /data-testid="migrations-count">\d+</)
  })

  test('tenant actions: credits with a reason, plan change, suspend and lift — each audited with the admin', async ({
    client,
    assert,
  }) => {
    const admin = await UserFactory.apply('platformAdmin').create()
    const { tenant } = await WorkspaceFactory.create({ name: 'Customer' })
    const web = await signedIn(client, admin)
    const found = await web.get('/admin/tenants?q=Custom')
    assert.include(found.text(), tenant.slug)
    const base = `/admin/tenants/${tenant.id}`
    await web.submit('POST', `${base}/credit-entries`, { credits: '25', reason: 'goodwill' })
    await web.submit('POST', `${base}/credit-entries`, { credits: '-5', reason: 'correction' })
    assert.equal((await balanceOf(tenant.id)).balance, 20_000_000n)
    const refused = await web.follow(
      await web.submit('POST', `${base}/credit-entries`, { credits: '-500', reason: 'too much' })
    )
    assert.include(refused.text(), 'available')
    assert.equal((await balanceOf(tenant.id)).balance, 20_000_000n)
    await web.submit('POST', `${base}/plan-changes`, { plan: 'team' })
    assert.equal(
      (await db.from('plan_changes').where('tenant_id', tenant.id).first()).plan_id,
      'team'
    )
    await web.submit('POST', `${base}/suspension`, { reason: 'fraud check' })
    assert.isNotNull((await Tenant.findOrFail(tenant.id)).suspendedAt)
    await web.submit('DELETE', `${base}/suspension`)
    assert.isNull((await Tenant.findOrFail(tenant.id)).suspendedAt)
    const detail = await web.get(base)
    assert.include(detail.text(), 'data-testid="tenant-available">20<')

    const actions = await db
      .from('audit_events')
      .where('tenant_id', tenant.id)
      .where('actor_id', admin.id)
      .orderBy('id')
      .select('action')
    assert.deepEqual(
      actions.map((a) => a.action),
      [
        'credits.grant.created',
        'credits.adjustment.created',
        'credits.plan_change.scheduled',
        'tenants.tenant.suspended',
        'tenants.tenant.suspension_lifted',
      ]
    )
  })

  test('users: disabling ends sessions and tokens, enabling restores sign-in; two-factor reset; all audited', async ({
    client,
    assert,
  }) => {
    const admin = await UserFactory.apply('platformAdmin').create()
    const { owner, token } = await WorkspaceFactory.create({ token: true })
    const userWeb = await signedIn(client, owner)
    ;(await client.get('/api/v1/me').bearerToken(token)).assertStatus(200)
    const web = await signedIn(client, admin)
    await web.submit('POST', `/admin/users/${owner.id}/disablement`)
    assert.isNotNull((await User.findOrFail(owner.id)).disabledAt)
    ;(await client.get('/api/v1/me').bearerToken(token)).assertStatus(401)
    const after = await userWeb.get('/account')
    assert.notEqual(after.status(), 200)
    await web.submit('DELETE', `/admin/users/${owner.id}/disablement`)
    assert.isNull((await User.findOrFail(owner.id)).disabledAt)
    await db
      .from('users')
      .where('id', owner.id)
      .update({ totp_secret_encrypted: 'x', totp_enabled_at: new Date() })
    await web.submit('DELETE', `/admin/users/${owner.id}/two-factor`)
    assert.isNull((await User.findOrFail(owner.id)).totpEnabledAt)
    const audit = await db
      .from('audit_events')
      .where('subject_id', owner.id)
      .where('actor_id', admin.id)
      .orderBy('id')
      .select('action')
    assert.deepEqual(
      audit.map((a) => a.action),
      ['auth.user.disabled', 'auth.user.enabled', 'auth.2fa.reset']
    )
    // An admin cannot disable themselves.
    await web.submit('POST', `/admin/users/${admin.id}/disablement`)
    assert.isNull((await User.findOrFail(admin.id)).disabledAt)
  })

  test('impersonation shows a banner, names both in the audit trail, and ends back as the admin', async ({
    client,
    assert,
  }) => {
    const admin = await UserFactory.apply('platformAdmin').create()
    const { owner, tenant } = await WorkspaceFactory.create()
    const web = await signedIn(client, admin)
    const started = await web.follow(
      await web.submit('POST', `/admin/users/${owner.id}/impersonation`)
    )
    assert.include(started.text(), 'data-testid="impersonation-banner"')
    assert.include(started.text(), `${admin.email} is acting as ${owner.email}`)
    // Acting as the owner: the admin area is closed, the workspace is open.
    ;(await web.get('/admin')).assertStatus(404)
    ;(await web.get(`/t/${tenant.slug}/settings`)).assertStatus(200)
    await web.submit('PUT', `/t/${tenant.slug}/settings`, { name: 'Renamed', timeZone: 'UTC' })
    const change = await db
      .from('audit_events')
      .where('tenant_id', tenant.id)
      .where('actor_id', owner.id)
      .orderBy('id', 'desc')
      .first()
    assert.equal(change.impersonator_id, admin.id)

    const ended = await web.follow(await web.submit('DELETE', '/impersonation'))
    ended.assertStatus(200)
    assert.notInclude(ended.text(), 'data-testid="impersonation-banner"')
    ;(await web.get('/admin')).assertStatus(200)
    const trail = await db
      .from('audit_events')
      .where('subject_id', owner.id)
      .whereIn('action', ['auth.impersonation.started', 'auth.impersonation.ended'])
      .orderBy('id')
      .select('action', 'actor_id', 'impersonator_id')
    assert.deepEqual(trail, [
      { action: 'auth.impersonation.started', actor_id: admin.id, impersonator_id: admin.id },
      { action: 'auth.impersonation.ended', actor_id: admin.id, impersonator_id: admin.id },
    ])
    // The admin's recent password entry does not pass to the user: minting a token for them
    // still needs the user's password (the user's own fresh session may, the control).
    const tokenForm = { name: 'sneaky', tenant: tenant.id, expires: '30d' }
    const tokens = async () =>
      Number(
        (await db.from('auth_access_tokens').where('tokenable_id', owner.id).count('* as n'))[0].n
      )
    const own = await signedIn(client, owner)
    await own.get('/account/tokens')
    await own.submit('POST', '/account/tokens', tokenForm)
    const afterControl = await tokens()
    assert.equal(afterControl, 1, 'the control: a fresh login may create a token')
    await web.submit('POST', `/admin/users/${owner.id}/impersonation`)
    await web.get('/account/tokens')
    await web.submit('POST', '/account/tokens', tokenForm)
    assert.equal(await tokens(), afterControl)
    // Disabling the admin ends the sessions they impersonate, at the next request.
    await setUserDisabled(admin.id, true, { actorId: admin.id })
    const cut = await web.get(`/t/${tenant.slug}/settings`)
    assert.notEqual(cut.status(), 200)
    await setUserDisabled(admin.id, false, { actorId: admin.id })

    // Another platform admin cannot be impersonated.
    const again = await signedIn(client, admin)
    const other = await UserFactory.apply('platformAdmin').create()
    const refused = await again.submit('POST', `/admin/users/${other.id}/impersonation`)
    assert.equal(refused.status(), 403)
  })

  test('flags: a workspace row wins over its plan row, which wins over the global row, then the default', async ({
    client,
    assert,
  }) => {
    const admin = await UserFactory.apply('platformAdmin').create()
    const { tenant } = await WorkspaceFactory.create()
    const subject = { tenantId: tenant.id, planId: 'free' }
    const web = await signedIn(client, admin)
    const set = (scope: string, target: string, state: string) =>
      web.submit('PUT', '/admin/flags', { key: 'marketplace.publish', scope, target, state })
    await set('global', '', 'off')
    assert.isFalse(await flagEnabled('marketplace.publish', subject))
    await set('plan', 'free', 'on')
    assert.isTrue(await flagEnabled('marketplace.publish', subject))
    await set('tenant', tenant.slug, 'off')
    assert.isFalse(await flagEnabled('marketplace.publish', subject))
    await set('tenant', tenant.slug, 'unset')
    assert.isTrue(await flagEnabled('marketplace.publish', subject))
    await set('plan', 'free', 'unset')
    await set('global', '', 'unset')
    assert.isFalse(await flagEnabled('marketplace.publish', subject), 'the default (off)')
    const audited = await db
      .from('audit_events')
      .where('action', 'platform.flag.set')
      .where('actor_id', admin.id)
    assert.lengthOf(audited, 6)
    await setFlag('marketplace.publish', 'global', null, true)
  })

  test('the audit trail: admins filter and export it, owners see their own workspace only, an edited row is detected', async ({
    client,
    assert,
  }) => {
    const admin = await UserFactory.apply('platformAdmin').create()
    const a = await WorkspaceFactory.create({ name: 'Alpha', grant: 5_000_000n })
    const b = await WorkspaceFactory.create({ name: 'Beta', grant: 7_000_000n })
    const web = await signedIn(client, admin)
    const page = await web.get(`/admin/audit?action=credits.&tenant=${a.tenant.slug}`)
    assert.include(page.text(), 'credits.grant.created')
    const csv = await web.get(`/admin/audit.csv?action=credits.grant&tenant=${b.tenant.slug}`)
    assert.equal(csv.header('content-type'), 'text/csv; charset=utf-8')
    const lines = csv.text().trim().split('\r\n')
    assert.equal(lines[0].split(',')[0], 'id')
    assert.lengthOf(lines, 2)
    assert.include(lines[1], b.tenant.id)

    const ownerWeb = await signedIn(client, a.owner)
    const own = await ownerWeb.get(`/t/${a.tenant.slug}/audit.csv`)
    own.assertStatus(200)
    assert.include(own.text(), a.tenant.id)
    assert.notInclude(own.text(), b.tenant.id)
    const member = await UserFactory.create()
    await MembershipFactory.merge({
      tenantId: a.tenant.id,
      userId: member.id,
      role: 'member',
    }).create()
    const memberWeb = await signedIn(client, member)
    assert.equal((await memberWeb.get(`/t/${a.tenant.slug}/audit`)).status(), 403)

    assert.deepEqual(await verifyAuditChain(), [])
    const row = await db.from('audit_events').where('tenant_id', b.tenant.id).first()
    // (IP and labels are left out of the hash so they can be erased; the action is in it.)
    await db.from('audit_events').where('id', row.id).update({ action: 'credits.grant.undone' })
    const problems = await verifyAuditChain()
    assert.isTrue(problems.some((p) => p.includes(`audit event ${row.id}: content does not match`)))
  })

  test('catalog and plans: an admin adds a platform model, schedules its next price and edits a plan — audited', async ({
    client,
    assert,
  }) => {
    const admin = await UserFactory.apply('platformAdmin').create()
    const web = await signedIn(client, admin)
    await web.get('/admin/catalog')
    await web.submit('POST', '/admin/catalog/models', {
      provider: 'simulator',
      name: 'simulator/admin-test',
      kind: 'chat',
      context_window: '4096',
      input_price: '1.5',
      output_price: '3',
    })
    const model = await db.from('models').where('name', 'simulator/admin-test').first()
    assert.equal(String(model.input_price_micros), '1500000')
    const later = new Date(Date.now() + 86_400_000).toISOString().slice(0, 16)
    await web.submit('POST', '/admin/catalog/prices', {
      provider: 'simulator',
      model: 'simulator/admin-test',
      input_price: '2',
      output_price: '4',
      effective_from: later,
    })
    const prices = await db
      .from('model_prices')
      .where('model_id', model.id)
      .orderBy('effective_from')
    assert.lengthOf(prices, 2)
    assert.equal(String(prices[1].input_price_micros), '2000000')
    // A price starting in the past is refused: history is never rewritten.
    const past = await web.follow(
      await web.submit('POST', '/admin/catalog/prices', {
        provider: 'simulator',
        model: 'simulator/admin-test',
        input_price: '9',
        output_price: '9',
        effective_from: '2020-01-01T00:00',
      })
    )
    assert.include(past.text(), 'cannot start in the past')
    const page = await web.get('/admin/catalog')
    assert.include(page.text(), 'simulator/admin-test')

    await web.submit('PUT', '/admin/plans/pro', {
      name: 'Pro',
      monthly_credits: '30',
      price: '21.00',
      max_members: '12',
    })
    const pro = await db.from('plans').where('id', 'pro').first()
    assert.equal(String(pro.monthly_allowance_micros), '30000000')
    assert.equal(pro.price_cents, 2100)
    assert.equal(pro.max_members, 12)
    const audit = await db
      .from('audit_events')
      .where('action', 'credits.plan.updated')
      .where('actor_id', admin.id)
    assert.lengthOf(audit, 1)
    assert.deepEqual(audit[0].changes.monthly_credits, ['25', '30'])
  })
})
