import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { grant } from '#credits'
import { createAgent } from '#agents/actions/save_agent'
import { baseUrl, signedInPage } from '#tests/helpers/browser'
import { UserFactory } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

test.group('credits / browser: monthly budgets', () => {
  test('an owner sets a tiny monthly budget on an agent in the editor, and its next run is refused naming that budget', async ({
    browserContext,
    assert,
    cleanup,
  }) => {
    const owner = await UserFactory.merge({ name: 'Budget Keeper' }).create()
    const { tenant } = await WorkspaceFactory.create({ owner, name: 'Thrifty Labs' })
    await grant({ tenantId: tenant.id, amount: 100_000_000n, reason: 'browser test' })
    const { agent } = await createAgent({
      tenantId: tenant.id,
      actorId: owner.id,
      name: 'Budget Bot',
      slug: 'budget-bot',
      instructions: 'Repeat what you hear.',
      model: 'simulator/echo',
    })
    cleanup(async () => {
      await tenant.delete()
      await owner.delete()
    })

    // 1. The owner gives the agent a budget of one micro-credit a month.
    const { page, problems } = await signedInPage(browserContext, owner.email)
    await page.goto(`${baseUrl()}/t/${tenant.slug}/credits/budgets`)
    const editor = page.locator('#budgets-editor')
    const row = editor.getByTestId('budget-row').first()
    await row.getByLabel('Applies to').selectOption({ label: 'Agent' })
    await row.getByLabel('Agent slug or member email').fill(agent.slug)
    await row.getByLabel('Credits a month').fill('0.000001')
    const save = editor.getByRole('button', { name: 'Save budgets' })
    assert.equal(await save.count(), 1, 'the budget editor has its submit button')
    await save.click()
    await page.getByText('Budgets saved.').waitFor()

    const listed = page.locator(`#budgets-usage tr[data-budget="agent:${agent.id}"]`)
    assert.include(await listed.innerText(), 'Agent · Budget Bot')
    assert.equal(await listed.locator('td').nth(2).innerText(), '0.000001')
    assert.equal(
      await editor.getByTestId('budget-row').first().getByLabel('Credits a month').inputValue(),
      '0.000001'
    )

    // 2. Running the agent from its chat is refused before it starts, naming the budget.
    await page.goto(`${baseUrl()}/t/${tenant.slug}/agents/${agent.slug}/chat`)
    await page.fill('#field-input', 'hello budget')
    const refused = page.waitForResponse(
      (response) =>
        response.url().endsWith(`/agents/${agent.slug}/runs`) && response.status() === 403
    )
    await page.click('#chat-form button[type=submit]')
    await refused
    const alert = page.locator('#alerts .alert-error', { hasText: 'monthly budget' })
    await alert.waitFor()
    const message = await alert.innerText()
    assert.include(message, `monthly budget of agent "${agent.slug}"`)
    assert.include(message, 'would be exceeded')

    const runs = await db.from('runs').where('tenant_id', tenant.id).count('* as total')
    assert.equal(Number(runs[0].total), 0, 'no run was recorded')
    const account = await db.from('credit_accounts').where('tenant_id', tenant.id).first()
    assert.equal(BigInt(account.held), 0n, 'nothing is held')

    // The browser reports the refused request itself; anything else is a problem.
    assert.deepEqual(
      problems.filter((text) => !/status of 403/.test(text)),
      []
    )
  })
    .tags(['@committed'])
    .timeout(60_000)
})
