import { test } from '@japa/runner'
import { randomUUID } from 'node:crypto'
import { DateTime } from 'luxon'
import db from '@adonisjs/lucid/services/db'
import { grant, hold, settle } from '#credits'
import { CREDIT } from '#tests/credits/helpers'
import { signedIn } from '#tests/helpers/session'
import { UserFactory } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { MembershipFactory } from '#database/factories/tenant_factory'

test.group('credits / pages', () => {
  test('the credits page shows the balance widget (self-refreshing) and the ledger', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create({ grant: 10n * CREDIT })
    await settle(
      await hold({
        tenantId: tenant.id,
        amount: 3n * CREDIT,
        memberId: owner.id,
        reference: 'run-7',
      }),
      1_500_000n
    )
    await hold({ tenantId: tenant.id, amount: 2n * CREDIT })
    const web = await signedIn(client, owner)
    const page = await web.get(`/t/${tenant.slug}/credits`)
    page.assertStatus(200)
    const html = page.text()
    assert.include(html, '<html')
    assert.match(
      html,
      /id="credits-balance"[^>]*hx-get="\/t\/[^"]+\/credits\/balance"[^>]*hx-trigger="every 10s"/
    )
    assert.include(html, 'data-testid="credits-available">6.5<')
    assert.include(html, 'data-testid="credits-held">2<')
    assert.include(html, 'data-testid="credits-month-spend">1.5<')
    assert.include(html, 'id="credits-ledger"')
    assert.include(html, 'run-7')
    assert.include(html, '-1.5')

    const widget = await web.get(`/t/${tenant.slug}/credits/balance`, { 'HX-Request': 'true' })
    widget.assertStatus(200)
    assert.notInclude(widget.text(), '<html')
    assert.match(widget.text().trim(), /^<section id="credits-balance"/)
    assert.include(widget.text(), 'data-testid="credits-available">6.5<')
    // Without htmx the widget URL leads to the page.
    assert.equal(
      (await web.get(`/t/${tenant.slug}/credits/balance`)).header('location'),
      `/t/${tenant.slug}/credits`
    )
  })

  test('filters (kind, dates in the workspace time zone, member, agent) narrow the ledger; htmx gets the ledger alone', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create({ grant: 10n * CREDIT })
    const agentId = randomUUID()
    await settle(
      await hold({
        tenantId: tenant.id,
        amount: CREDIT,
        memberId: owner.id,
        agentId,
        reference: 'agent-run',
      }),
      10n
    )
    await settle(
      await hold({ tenantId: tenant.id, amount: CREDIT, reference: 'anonymous-run' }),
      20n
    )
    const web = await signedIn(client, owner)
    const base = `/t/${tenant.slug}/credits`
    const today = DateTime.now().setZone(tenant.timeZone).toISODate()!
    const tomorrow = DateTime.now().setZone(tenant.timeZone).plus({ days: 1 }).toISODate()!

    const charges = await web.get(`${base}?kind=charge`, { 'HX-Request': 'true' })
    assert.match(charges.text().trim(), /^<section id="credits-ledger"/)
    assert.include(charges.text(), 'agent-run')
    assert.include(charges.text(), 'anonymous-run')
    assert.notInclude(charges.text(), 'test funds')

    const byMember = (await web.get(`${base}?member=${owner.id}`)).text()
    assert.include(byMember, 'agent-run')
    assert.notInclude(byMember, 'anonymous-run')
    const byAgent = (await web.get(`${base}?agent=${agentId}`)).text()
    assert.include(byAgent, 'agent-run')
    assert.notInclude(byAgent, 'test funds')

    assert.include((await web.get(`${base}?from=${today}&to=${today}`)).text(), 'test funds')
    assert.include(
      (await web.get(`${base}?from=${tomorrow}`)).text(),
      'No entries match these filters'
    )

    // A bad filter is reported next to its field, never a 500.
    const bad = await web.get(`${base}?from=2026-02-31&kind=bonus&agent=x`)
    bad.assertStatus(200)
    assert.include(bad.text(), 'aria-invalid="true"')
    assert.include(bad.text(), 'test funds')
  })

  test('the ledger pages with keyset links', async ({ client, assert }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    for (let i = 1; i <= 55; i++)
      await grant({ tenantId: tenant.id, amount: BigInt(i), reason: `g${i}` })
    const web = await signedIn(client, owner)
    const first = (await web.get(`/t/${tenant.slug}/credits`)).text()
    assert.include(first, '>g55<')
    assert.notInclude(first, '>g5<')
    const next = /href="([^"]*cursor=[^"]+)" rel="next"/.exec(first)?.[1]
    assert.isString(next)
    const second = (await web.get(next!.replaceAll('&amp;', '&'), { 'HX-Request': 'true' })).text()
    assert.include(second, '>g5<')
    assert.include(second, '>g1<')
    assert.notInclude(second, '>g6<')
    assert.notInclude(second, 'rel="next"')
  })

  test('the CSV export streams the filtered ledger with proper escaping', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    await grant({ tenantId: tenant.id, amount: 1_500_000n, reason: 'plain' })
    await grant({ tenantId: tenant.id, amount: 1n, reason: 'comma, "quote"\nnewline' })
    await grant({ tenantId: tenant.id, amount: 2n, reason: '=HYPERLINK("http://x")' })
    await settle(await hold({ tenantId: tenant.id, amount: CREDIT }), 250_000n)
    const web = await signedIn(client, owner)

    const csv = await web.get(`/t/${tenant.slug}/credits/ledger.csv`)
    csv.assertStatus(200)
    assert.include(csv.header('content-type'), 'text/csv')
    assert.match(
      csv.header('content-disposition') ?? '',
      /^attachment; filename="ledger-t-[a-z0-9-]+-\d{8}\.csv"$/
    )
    const lines = csv.text().split('\r\n')
    assert.equal(
      lines[0],
      'id,created_at,kind,amount,balance_after,reference,member_id,agent_id,hold_id'
    )
    assert.match(
      lines[1],
      /^[0-9a-f-]{36},\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z,charge,-0\.25,1\.250003,,,,[0-9a-f-]{36}$/
    )
    assert.match(lines[2], /,grant,0\.000002,1\.500003,"'=HYPERLINK\(""http:\/\/x""\)",,,$/)
    assert.equal(lines[3].split(',grant,')[1], '0.000001,1.500001,"comma, ""quote""\nnewline",,,')
    assert.match(lines[4], /,grant,1\.5,1\.5,plain,,,$/)
    assert.lengthOf(lines, 6)
    assert.equal(lines.at(-1), '')

    const onlyCharges = (await web.get(`/t/${tenant.slug}/credits/ledger.csv?kind=charge`))
      .text()
      .trim()
      .split('\r\n')
    assert.lengthOf(onlyCharges, 2)
  })

  test('viewers may look; non-members get a 404', async ({ client, assert }) => {
    const { tenant } = await WorkspaceFactory.create({ grant: CREDIT })
    const viewer = await UserFactory.create()
    await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: viewer.id,
      role: 'viewer',
    }).create()
    ;(await (await signedIn(client, viewer)).get(`/t/${tenant.slug}/credits`)).assertStatus(200)
    const stranger = await signedIn(client, await UserFactory.create())
    for (const path of ['', '/balance', '/ledger.csv']) {
      assert.equal((await stranger.get(`/t/${tenant.slug}/credits${path}`)).status(), 404, path)
    }
    assert.isNull(
      await db.from('ledger_entries').where('tenant_id', tenant.id).where('kind', 'charge').first()
    )
  })
})
