/// <reference lib="dom" />
import { test } from '@japa/runner'
import { grant } from '#credits'
import { baseUrl, signedInPage } from '#tests/helpers/browser'
import { UserFactory } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

test.group('credits / browser: buying credits with an invoice', () => {
  test('an owner buys the Starter pack by invoice; a platform admin marks it paid and the purchase page updates by itself', async ({
    browser,
    browserContext,
    assert,
    cleanup,
  }) => {
    const owner = await UserFactory.merge({ name: 'Pack Buyer' }).create()
    const admin = await UserFactory.apply('platformAdmin').merge({ name: 'Billing Admin' }).create()
    const { tenant } = await WorkspaceFactory.create({ owner, name: 'Invoice Labs' })
    await grant({ tenantId: tenant.id, amount: 5_000_000n, reason: 'opening balance' })
    const adminContext = await browser.newContext()
    cleanup(async () => {
      await adminContext.close()
      await tenant.delete()
      await owner.delete()
      await admin.delete()
    })

    // 1. The owner buys the Starter pack, paying by invoice.
    const buying = await signedInPage(browserContext, owner.email)
    const page = buying.page
    await page.goto(`${baseUrl()}/t/${tenant.slug}/credits`)
    assert.equal(await page.textContent('[data-testid=credits-available]'), '5')
    const buy = page.locator('#credits-buy')
    await buy.getByRole('radio', { name: /Starter: 10 credits for \$10\.00/ }).check()
    await buy.getByRole('radio', { name: /Invoice/ }).check()
    const submit = buy.getByRole('button', { name: 'Buy credits' })
    assert.equal(await submit.count(), 1, 'the Buy credits form has its submit button')
    await submit.click()
    await page.waitForURL(/\/credits\/purchases\/[0-9a-f-]{36}$/)
    const purchaseId = page.url().split('/').pop()!
    const status = page.locator('#purchase-status')
    await status.getByText('Waiting for payment').waitFor()
    assert.include(await status.innerText(), 'Starter pack (10 credits)')
    assert.include(await page.textContent('[data-testid=purchase-result]'), 'invoice was created')
    await page.evaluate(() => ((globalThis as any).__sameDocument = true))

    // 2. A platform admin, in a session of their own, marks that invoice paid.
    const reviewing = await signedInPage(adminContext, admin.email)
    const adminPage = reviewing.page
    await adminPage.goto(`${baseUrl()}/admin/purchases`)
    const row = adminPage.locator(`tr[data-purchase="${purchaseId}"]`)
    assert.include(await row.innerText(), 'Invoice Labs')
    await row.getByRole('button', { name: /^Mark paid/ }).click()
    await adminPage.getByText('Starter pack (10 credits) marked paid.').waitFor()
    assert.equal(await adminPage.locator(`tr[data-purchase="${purchaseId}"]`).count(), 0)

    // 3. The owner's page notices by itself (htmx polls every 3 s), without a reload.
    await page
      .locator('[data-testid=purchase-result]', {
        hasText: '10 credits were added to your workspace.',
      })
      .waitFor({ timeout: 15_000 })
    await status.getByText('Paid', { exact: true }).waitFor()
    assert.isTrue(await page.evaluate(() => (globalThis as any).__sameDocument === true))

    // 4. The credits page shows 10 more available.
    await page.getByRole('link', { name: 'Back to credits' }).click()
    await page.waitForURL(`${baseUrl()}/t/${tenant.slug}/credits`)
    assert.equal(await page.textContent('[data-testid=credits-available]'), '15')

    assert.deepEqual([...buying.problems, ...reviewing.problems], [])
  })
    .tags(['@committed'])
    .timeout(60_000)
})
