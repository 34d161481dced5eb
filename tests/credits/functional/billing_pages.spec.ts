import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { createAgent } from '#agents'
import { notify } from '#platform'
import { changePlan } from '#credits'
import { ApiTokenFactory } from '#database/factories/api_token_factory'
import { signedIn } from '#tests/helpers/session'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { MembershipFactory } from '#database/factories/tenant_factory'
import { UserFactory } from '#database/factories/user_factory'

test.group('credits / plans, purchases, budgets and notifications pages', () => {
  test('the plans page shows the current plan; moving up is a purchase (an invoice), never a free plan change', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const session = await signedIn(client, owner)
    const page = await session.get(`/t/${tenant.slug}/plans`)
    page.assertStatus(200)
    assert.include(page.text(), 'data-testid="current-plan">Free<')
    assert.include(page.text(), 'Upgrade to Pro')

    // An upgrade through the plans form is a manual invoice, not a plan change.
    const bought = await session.follow(
      await session.submit('POST', `/t/${tenant.slug}/credits/purchases`, {
        plan: 'pro',
        provider: 'manual',
      })
    )
    assert.include(bought.text(), 'Pro plan')
    assert.include(bought.text(), 'Waiting for payment')
    assert.isNull(await db.from('plan_changes').where('tenant_id', tenant.id).first())

    // The plan being bought (now scheduled when paid) or the current one cannot be bought again.
    for (const plan of ['free', 'pro']) {
      const token = await ApiTokenFactory.create(owner, tenant.id)
      if (plan === 'pro') await changePlan({ tenantId: tenant.id, planId: 'pro' })
      const again = await client
        .post('/api/v1/credits/purchases')
        .bearerToken(token)
        .json({ plan, provider: 'manual' })
      again.assertStatus(422)
    }
    await changePlan({ tenantId: tenant.id, planId: 'free' })
    // Moving up without paying is refused with a message; staying is a no-op.
    const refused = await session.follow(
      await session.submit('POST', `/t/${tenant.slug}/plans/changes`, { plan: 'team' })
    )
    assert.include(refused.text(), 'Upgrading to Team is a purchase')
    assert.isNull(await db.from('plan_changes').where('tenant_id', tenant.id).first())
  })

  test('the credits page offers packs to owners only and shows the burn-rate forecast', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create({ grant: 5_000_000n })
    const ownerPage = await (await signedIn(client, owner)).get(`/t/${tenant.slug}/credits`)
    assert.include(ownerPage.text(), 'Starter: 10 credits for $10.00')
    assert.include(ownerPage.text(), 'data-testid="credits-forecast">—<')
    const viewer = await UserFactory.create()
    await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: viewer.id,
      role: 'viewer',
    }).create()
    const viewerSession = await signedIn(client, viewer)
    const viewerPage = await viewerSession.get(`/t/${tenant.slug}/credits`)
    assert.notInclude(viewerPage.text(), 'Buy credits</button>')
    const forbidden = await viewerSession.submit('POST', `/t/${tenant.slug}/credits/purchases`, {
      pack: 'starter',
    })
    assert.equal(forbidden.status(), 403)
    assert.isNull(await db.from('credit_purchases').where('tenant_id', tenant.id).first())
  })

  test('the budgets editor saves an agent budget by slug and a member budget by email; bad rows are refused with a message', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const agent = await createAgent({
      tenantId: tenant.id,
      actorId: owner.id,
      name: 'Helper',
      slug: 'helper',
      instructions: 'Help.',
      model: 'simulator/echo',
    })
    const session = await signedIn(client, owner)
    await session.get(`/t/${tenant.slug}/credits/budgets`)
    const saved = await session.follow(
      await session.submit('PUT', `/t/${tenant.slug}/credits/budgets`, {
        scope: ['agent', 'member'],
        subject: ['helper', owner.email.toUpperCase()],
        limit: ['2.5', '10'],
        low_balance: '1',
      })
    )
    assert.include(saved.text(), 'Budgets saved')
    assert.include(saved.text(), 'Agent · Helper')
    const rows = await db
      .from('credit_budgets')
      .where('tenant_id', tenant.id)
      .orderBy('scope')
      .select('scope', 'subject_id', 'limit_micros')
    assert.deepEqual(
      rows.map((r) => [r.scope, r.subject_id, String(r.limit_micros)]),
      [
        ['agent', agent.agent.id, '2500000'],
        ['member', owner.id, '10000000'],
      ]
    )

    for (const [fields, message] of [
      [{ scope: 'agent', subject: 'nobody', limit: '1' }, 'No agent &quot;nobody&quot;'],
      [{ scope: 'member', subject: 'stranger@example.com', limit: '1' }, 'is not a member'],
      [{ scope: 'agent', subject: 'helper', limit: 'plenty' }, 'is not a positive amount'],
    ] as const) {
      const page = await session.follow(
        await session.submit('PUT', `/t/${tenant.slug}/credits/budgets`, fields)
      )
      assert.include(page.text(), message)
    }
    // The refusals left the saved budgets alone.
    assert.lengthOf(await db.from('credit_budgets').where('tenant_id', tenant.id), 2)
  })

  test('notifications: the nav badge counts unread on every page, the notifications page lists them, marks them read and saves email preferences', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    for (const n of [1, 2])
      await notify({
        recipients: [{ userId: owner.id, email: owner.email }],
        tenantId: tenant.id,
        kind: 'credits.low',
        title: `Low ${n}`,
        body: 'Buy credits.',
        dedupeKey: `low-${n}`,
      })
    const session = await signedIn(client, owner)
    const badge = async () =>
      /data-testid="unread-count">(\d+)</.exec((await session.get('/account')).text())?.[1]
    assert.equal(await badge(), '2')
    const page = await session.get('/notifications')
    assert.include(page.text(), 'Low 1')
    assert.include(page.text(), 'Low 2')

    const first = await db
      .from('notifications')
      .where('user_id', owner.id)
      .where('title', 'Low 1')
      .first()
    await session.submit('POST', `/notifications/${first.id}?_method=PATCH`)
    assert.equal(await badge(), '1')
    await session.submit('POST', '/notifications?_method=PATCH')
    assert.isUndefined(await badge())

    await session.submit('PUT', '/notifications/preferences', { email: ['purchase.paid'] })
    const prefs = await db
      .from('notification_preferences')
      .where('user_id', owner.id)
      .orderBy('kind')
      .select('kind', 'email')
    assert.deepEqual(
      prefs.map((p) => [p.kind, p.email]),
      [
        ['budget.threshold', false],
        ['credits.low', false],
        ['purchase.paid', true],
      ]
    )
    // With the kind switched off, the notification still arrives in the app but sends no mail.
    await notify({
      recipients: [{ userId: owner.id, email: owner.email }],
      tenantId: tenant.id,
      kind: 'credits.low',
      title: 'Silent',
      body: 'No mail.',
    })
    assert.isNotNull(
      await db.from('notifications').where('user_id', owner.id).where('title', 'Silent').first()
    )
    assert.isNull(
      await db.from('dev_mailbox').where('to', owner.email).where('subject', 'Silent').first()
    )
    assert.isNotNull(
      await db.from('dev_mailbox').where('to', owner.email).where('subject', 'Low 2').first()
    )
  })
})
