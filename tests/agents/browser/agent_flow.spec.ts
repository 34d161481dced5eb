import { randomUUID } from 'node:crypto'
import { test } from '@japa/runner'
import type { Page } from 'playwright-core'
import { grant } from '#credits'
import Run from '#agents/models/run'
import { requestCancellation } from '#agents/services/runs'
import { UserFactory, USER_PASSWORD } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

const base = () => `http://${process.env.HOST}:${process.env.PORT}`

/** Fills and submits the agent form, then waits for the agent's page. */
async function createAgentThroughForm(
  page: Page,
  slugBase: string,
  agent: { name: string; slug: string; maxTokens: number; metadata: string }
) {
  await page.goto(`${base()}${slugBase}/agents/new`)
  await page.fill('#field-name', agent.name)
  await page.fill('#field-slug', agent.slug)
  await page.fill('#field-instructions', 'Write some placeholder text.')
  await page.selectOption('#field-model', 'simulator/lorem')
  await page.fill('#field-max_tokens', String(agent.maxTokens))
  await page.click('.disclosure summary')
  await page.fill('#field-metadata', agent.metadata)
  await page.click('#agent-form button[type=submit]')
  await page.waitForURL(`${base()}${slugBase}/agents/${agent.slug}`)
}

/** Opens the agent's chat and sends a message; returns the live assistant bubble's locator. */
async function sendMessage(page: Page, slugBase: string, agentSlug: string, text: string) {
  await page.goto(`${base()}${slugBase}/agents/${agentSlug}/chat`)
  await page.fill('#field-input', text)
  await page.click('#chat-form button[type=submit]')
  return page.locator('.bubble-assistant').last()
}

test.group('agents / browser: create, chat with streaming, stop, history', () => {
  test('a member creates an agent, sees its answer stream in, stops a long run and finds both runs in the history', async ({
    browserContext,
    assert,
    cleanup,
  }) => {
    const user = await UserFactory.merge({ name: 'Flow Tester' }).create()
    const { tenant } = await WorkspaceFactory.create({ owner: user, name: 'Flow Labs' })
    await grant({
      tenantId: tenant.id,
      amount: 1_000_000_000n,
      reason: 'browser test',
      idempotencyKey: `flow-${randomUUID()}`,
    })
    cleanup(async () => {
      // Nothing may outlive the test: stop what still runs, then drop the workspace (cascades).
      for (const run of await Run.query().where('tenantId', tenant.id)) {
        if (await requestCancellation(run)) await waitUntilEnded(run.id)
      }
      await tenant.delete()
      await user.delete()
    })
    const slugBase = `/t/${tenant.slug}`

    const page = await browserContext.newPage()
    const problems: string[] = []
    page.on('pageerror', (error) => problems.push(error.message))
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text())
    })

    await page.goto(`${base()}/login`)
    await page.fill('input[name=email]', user.email)
    await page.fill('input[name=password]', USER_PASSWORD)
    await Promise.all([
      page.waitForURL((url) => !url.pathname.startsWith('/login')),
      page.click('form[action="/login"] button[type=submit]'),
    ])

    // 1. Create an agent through the htmx form, then chat: the answer streams in.
    await createAgentThroughForm(page, slugBase, {
      name: 'Stream bot',
      slug: 'stream-bot',
      maxTokens: 60,
      metadata: '{"simulate": {"latency_ms": 1500}}',
    })
    const streaming = await sendMessage(page, slugBase, 'stream-bot', 'Tell me something')
    await page
      .locator('.bubble-assistant[hx-sse\\:connect] .bubble-text span')
      .first()
      .waitFor({ timeout: 5000 })
    const partial = await streaming.locator('.bubble-text').innerText()
    assert.isAbove(partial.length, 0)
    assert.isBelow(partial.length, 240, 'text appears before the answer is complete')
    await streaming.locator('.badge', { hasText: 'succeeded' }).waitFor({ timeout: 10_000 })
    assert.lengthOf(await streaming.locator('.bubble-text').innerText(), 240)
    assert.match(await streaming.locator('.bubble-meta').innerText(), /out tokens/)
    assert.match(page.url(), /\/chat\?thread=[0-9a-f-]{36}$/)

    // 2. A long run (400 tokens over 20 s) is stopped with the Stop button.
    await createAgentThroughForm(page, slugBase, {
      name: 'Long writer',
      slug: 'long-writer',
      maxTokens: 400,
      metadata: '{"simulate": {"latency_ms": 20000}}',
    })
    const long = await sendMessage(page, slugBase, 'long-writer', 'Write at length')
    await page
      .locator('.bubble-assistant[hx-sse\\:connect] .bubble-text span')
      .first()
      .waitFor({ timeout: 5000 })
    const stoppedAt = Date.now()
    await long.getByRole('button', { name: 'Stop' }).click()
    await long.locator('.badge', { hasText: 'stopped' }).waitFor({ timeout: 5000 })
    assert.isBelow(Date.now() - stoppedAt, 4000)
    assert.isBelow((await long.locator('.bubble-text').innerText()).length, 1600)

    // 3. Both runs are in the history, with links to their details.
    await page.goto(`${base()}${slugBase}/runs`)
    const rows = page.locator('main table tbody tr')
    assert.equal(await rows.count(), 2)
    const table = await page.locator('main table').innerText()
    assert.include(table, 'Stream bot')
    assert.include(table, 'Long writer')
    assert.include(table, 'succeeded')
    assert.include(table, 'stopped')
    await rows.first().locator('a').first().click()
    await page.locator('h1', { hasText: 'Run' }).waitFor()
    assert.include(await page.locator('main').innerText(), 'Write at length')

    assert.deepEqual(problems, [])
  })
    .tags(['@committed'])
    .timeout(90_000)
})

async function waitUntilEnded(runId: string) {
  for (let i = 0; i < 100; i++) {
    const run = await Run.find(runId)
    if (!run || run.terminal) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
