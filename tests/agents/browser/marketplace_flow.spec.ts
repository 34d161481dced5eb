import { randomUUID } from 'node:crypto'
import { test } from '@japa/runner'
import { grant } from '#credits'
import { setFlag } from '#platform'
import { createAgent } from '#agents/actions/save_agent'
import Run from '#agents/models/run'
import { UserFactory } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { baseUrl as base, signedInPage } from '#tests/helpers/browser'

test.group('agents / browser: marketplace', () => {
  test('a publisher lists an agent; another workspace installs it, runs it and rates it', async ({
    browserContext,
    assert,
    cleanup,
  }) => {
    await setFlag('marketplace.publish', 'global', null, true)
    const suffix = randomUUID().slice(0, 6)
    const seller = await UserFactory.merge({ name: 'Seller' }).create()
    const buyer = await UserFactory.merge({ name: 'Buyer' }).create()
    const shop = await WorkspaceFactory.create({ owner: seller, name: `Seller ${suffix}` })
    const store = await WorkspaceFactory.create({ owner: buyer, name: `Buyer ${suffix}` })
    await grant({
      tenantId: store.tenant.id,
      amount: 1_000_000_000n,
      reason: 'browser test',
      idempotencyKey: `market-${suffix}`,
    })
    await createAgent({
      tenantId: shop.tenant.id,
      actorId: seller.id,
      name: 'Parrot',
      slug: 'parrot',
      instructions: 'Repeat what you hear.',
      model: 'simulator/echo',
    })
    cleanup(async () => {
      for (const run of await Run.query().where('tenantId', store.tenant.id))
        for (let i = 0; i < 100 && !(await Run.find(run.id))?.terminal; i++)
          await new Promise((resolve) => setTimeout(resolve, 100))
      await store.tenant.delete()
      await shop.tenant.delete()
      await buyer.delete()
      await seller.delete()
    })

    // 1. The seller publishes the agent from its page.
    const selling = await signedInPage(browserContext, seller.email)
    let page = selling.page
    await page.goto(`${base()}/t/${shop.tenant.slug}/agents/parrot`)
    await page.getByRole('link', { name: 'Marketplace' }).last().click()
    await page.fill('#field-listing-title', `Parrot ${suffix}`)
    await page.fill('#field-listing-summary', 'Repeats what you say, word for word.')
    await page.selectOption('#field-listing-category', 'assistant')
    await page.fill('#field-listing-tags', 'echo, fun')
    await page.getByRole('button', { name: 'Publish' }).click()
    await page.locator('text=Version 1 is published').waitFor()

    // 2. The buyer finds it, installs it and runs the copy.
    await browserContext.clearCookies()
    const buying = await signedInPage(browserContext, buyer.email)
    page = buying.page
    await page.goto(`${base()}/t/${store.tenant.slug}/marketplace`)
    await page.fill('#field-marketplace-q', suffix)
    await page.getByRole('button', { name: 'Search' }).click()
    await page.getByRole('link', { name: `View Parrot ${suffix}` }).click()
    assert.include(await page.locator('main').innerText(), 'Repeat what you hear.')
    await page.getByRole('button', { name: 'Install' }).click()
    await page.waitForURL(`${base()}/t/${store.tenant.slug}/agents/parrot-${suffix}`)
    await page.goto(`${base()}/t/${store.tenant.slug}/agents/parrot-${suffix}/chat`)
    await page.fill('#field-input', 'hello market')
    await page.click('#chat-form button[type=submit]')
    const bubble = page.locator('.bubble-assistant').last()
    await bubble.locator('.badge', { hasText: 'succeeded' }).waitFor({ timeout: 10_000 })
    assert.include(await bubble.locator('.bubble-text').innerText(), 'hello market')

    // 3. Having run it, the buyer rates it.
    await page.goto(`${base()}/t/${store.tenant.slug}/marketplace`)
    await page.fill('#field-marketplace-q', suffix)
    await page.getByRole('button', { name: 'Search' }).click()
    await page.getByRole('link', { name: `View Parrot ${suffix}` }).click()
    await page.selectOption('#field-rating', '4')
    await page.fill('#field-review-body', 'Does exactly what it says.')
    await page.getByRole('button', { name: 'Save review' }).click()
    await page.locator('text=Thank you: your review is saved.').waitFor()
    const reviews = await page.locator('#reviews').innerText()
    assert.include(reviews, 'Does exactly what it says.')
    assert.include(await page.locator('body').innerText(), '★ 4 (1 reviews)')

    assert.deepEqual([...selling.problems, ...buying.problems], [])
  })
    .tags(['@committed'])
    .timeout(90_000)
})
