/// <reference lib="dom" />
import { test } from '@japa/runner'
import { grant, hold, settle } from '#credits'
import { baseUrl, signedInPage } from '#tests/helpers/browser'
import { UserFactory } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

test.group('credits / browser: balance widget and ledger', () => {
  test('the balance refreshes itself, and filters and pages swap the ledger in place', async ({
    browserContext,
    assert,
    cleanup,
  }) => {
    const user = await UserFactory.merge({ name: 'Ledger Reader' }).create()
    const { tenant } = await WorkspaceFactory.create({ owner: user, name: 'Ledger Labs' })
    cleanup(async () => {
      await tenant.delete()
      await user.delete()
    })
    await grant({ tenantId: tenant.id, amount: 5_000_000n, reason: 'opening balance' })
    for (let i = 1; i <= 55; i++)
      await settle(await hold({ tenantId: tenant.id, amount: 1000n, reference: `run-${i}` }), 10n)

    const { page, problems } = await signedInPage(browserContext, user.email)
    await page.goto(`${baseUrl()}/t/${tenant.slug}/credits`)
    assert.equal(await page.textContent('[data-testid=credits-available]'), '4.99945')
    await page.evaluate(() => ((globalThis as any).__sameDocument = true))

    // Credits granted elsewhere show up without a reload (the widget polls every 10 s).
    await grant({ tenantId: tenant.id, amount: 2_000_000n, reason: 'top-up' })
    await page.waitForSelector('[data-testid=credits-available]:text-is("6.99945")', {
      timeout: 15_000,
    })

    // Filtering swaps the ledger in place.
    await page.selectOption('#field-kind', 'grant')
    await page.click('#credits-ledger form button[type=submit]')
    await page.waitForFunction(
      () => (globalThis as any).document.querySelectorAll('#credits-ledger tbody tr').length === 2
    )
    assert.include(await page.textContent('#credits-ledger tbody'), 'top-up')

    // Paging too: 55 charges + 2 grants → a second page.
    await page.selectOption('#field-kind', '')
    await page.click('#credits-ledger form button[type=submit]')
    await page.waitForSelector('#credits-ledger a[rel=next]')
    await page.click('#credits-ledger a[rel=next]')
    await page.waitForSelector('#credits-ledger tbody :text("opening balance")')
    assert.isTrue(await page.evaluate(() => (globalThis as any).__sameDocument === true))
    assert.deepEqual(problems, [])
  }).timeout(60_000)
})
