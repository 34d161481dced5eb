/// <reference lib="dom" />
import { test } from '@japa/runner'
import { DateTime } from 'luxon'
import { baseUrl as base, signedInPage } from '#tests/helpers/browser'
import { projectedRun } from '#tests/analytics/helpers'
import { UserFactory } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { AgentFactory } from '#database/factories/agent_factory'

test.group('analytics / browser: dashboard', () => {
  test('changing the date range and drilling down swap content in place, with the URL pushed', async ({
    browserContext,
    assert,
    cleanup,
  }) => {
    const user = await UserFactory.merge({ name: 'Chart Reader' }).create()
    const { tenant } = await WorkspaceFactory.create({ owner: user, name: 'Chart Labs' })
    cleanup(async () => {
      await tenant.delete()
      await user.delete()
    })
    const agent = await AgentFactory.merge({
      tenantId: tenant.id,
      name: 'Summariser',
      slug: 'summariser',
    }).create()
    const today = DateTime.now().setZone(tenant.timeZone).startOf('day')
    for (const days of [0, 0, 12]) {
      await projectedRun(tenant.id, {
        agentId: agent.id,
        memberId: user.id,
        createdAt: today.minus({ days }).plus({ minutes: 30 }).toJSDate(),
      })
    }

    const { page, problems } = await signedInPage(browserContext, user.email)
    await page.goto(`${base()}/t/${tenant.slug}/analytics?range=7d`)
    assert.equal((await page.textContent('[data-testid=kpi-runs] .stat-value'))?.trim(), '2')

    // Live: a run counted now shows within 5 s, without a reload.
    const shownAt = Date.now()
    await projectedRun(tenant.id, {
      agentId: agent.id,
      memberId: user.id,
      createdAt: today.plus({ minutes: 45 }).toJSDate(),
    })
    await page.waitForSelector('[data-testid=kpi-runs] .stat-value:text-is("3")', {
      timeout: 5_000,
    })
    assert.isBelow(Date.now() - shownAt, 5_000)
    // A hidden tab asks nothing.
    let asked = 0
    page.on('request', (request) => {
      if (new URL(request.url()).pathname.endsWith('/analytics')) asked++
    })
    await page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true })
      document.dispatchEvent(new Event('visibilitychange'))
    })
    await page.waitForTimeout(4_500)
    assert.equal(asked, 0)
    await page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { value: 'visible', configurable: true })
    })
    // Set after load: a full page load would lose these.
    await page.evaluate(() => ((globalThis as any).__sameDocument = true))
    let loads = 0
    page.on('load', () => loads++)

    // A preset: the dashboard is swapped and the URL pushed, without a navigation.
    await page.click('a[data-range="30d"]')
    await page.waitForURL((url) => url.searchParams.get('range') === '30d')
    await page.waitForSelector('[data-testid=range-label]:has-text("Last 30 days")')
    assert.equal((await page.textContent('[data-testid=kpi-runs] .stat-value'))?.trim(), '4')
    assert.isTrue(await page.evaluate(() => (globalThis as any).__sameDocument === true))
    assert.equal(await page.evaluate(() => performance.getEntriesByType('navigation').length), 1)

    // A custom range through the form, in the workspace's time zone.
    const from = today.minus({ days: 13 }).toISODate()!
    const to = today.minus({ days: 1 }).toISODate()!
    await page.selectOption('#field-range', 'custom')
    await page.fill('#field-from', from)
    await page.fill('#field-to', to)
    await page.click('#analytics-dashboard form button[type=submit]')
    await page.waitForURL(
      (url) => url.searchParams.get('from') === from && url.searchParams.get('to') === to
    )
    await page.waitForSelector(`[data-testid=range-label]:has-text("${from} to ${to}")`)
    assert.equal((await page.textContent('[data-testid=kpi-runs] .stat-value'))?.trim(), '1')
    assert.isTrue(await page.evaluate(() => (globalThis as any).__sameDocument === true))

    // Back to the 7 days, then drill down from the agent's row into its runs.
    await page.click('a[data-range="7d"]')
    await page.waitForSelector('[data-testid=range-label]:has-text("Last 7 days")')
    await page.click('#analytics-agents a:text("Summariser")')
    await page.waitForURL(
      (url) =>
        url.pathname === `/t/${tenant.slug}/runs` && url.searchParams.get('agent') === 'summariser'
    )
    await page.waitForSelector('h1:text("Runs")')
    assert.equal(await page.locator('main table tbody tr').count(), 3)
    assert.isTrue(await page.evaluate(() => (globalThis as any).__sameDocument === true))
    assert.equal(loads, 0)

    // A bar of the chart drills into that day's runs, also without a reload.
    await page.goto(`${base()}/t/${tenant.slug}/analytics?range=7d`)
    await page.evaluate(() => ((globalThis as any).__sameDocument = true))
    await page.locator('#analytics-series svg a').last().click()
    await page.waitForURL(
      (url) =>
        url.pathname === `/t/${tenant.slug}/runs` &&
        url.searchParams.get('from') === today.toISODate()
    )
    await page.waitForSelector('h1:text("Runs")')
    assert.equal(await page.locator('main table tbody tr').count(), 3)
    assert.isTrue(await page.evaluate(() => (globalThis as any).__sameDocument === true))
    assert.deepEqual(problems, [])
  }).timeout(60_000)
})
