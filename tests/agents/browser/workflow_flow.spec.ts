import { randomUUID } from 'node:crypto'
import { test } from '@japa/runner'
import { parseCredits } from '#core'
import { grant } from '#credits'
import Run from '#agents/models/run'
import { createAgent } from '#agents/actions/save_agent'
import { requestCancellation } from '#agents/services/runs'
import { baseUrl, signedInPage } from '#tests/helpers/browser'
import { UserFactory } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

test.group('agents / browser: build a workflow, test-run it, read its step tree', () => {
  test('a member chains two agents in the builder, watches the last step stream in and finds both steps with their model calls and costs on the run page', async ({
    browserContext,
    assert,
    cleanup,
  }) => {
    const user = await UserFactory.merge({ name: 'Workflow Tester' }).create()
    const { tenant } = await WorkspaceFactory.create({ owner: user, name: 'Relay Labs' })
    await grant({
      tenantId: tenant.id,
      amount: 1_000_000_000n,
      reason: 'browser test',
      idempotencyKey: `workflow-flow-${randomUUID()}`,
    })
    cleanup(async () => {
      // Nothing may outlive the test: stop what still runs, then drop the workspace (cascades).
      for (const run of await Run.query().where('tenantId', tenant.id)) {
        if (await requestCancellation(run)) await waitUntilEnded(run.id)
      }
      await tenant.delete()
      await user.delete()
    })
    for (const agent of [
      { name: 'First echo', slug: 'first-echo', metadata: {} },
      // Slow enough that its answer visibly arrives in pieces (two chunks, 1.5 s apart).
      {
        name: 'Second echo',
        slug: 'second-echo',
        metadata: { simulate: { ttft_ms: 1000, latency_ms: 4000 } },
      },
    ])
      await createAgent({
        tenantId: tenant.id,
        actorId: user.id,
        instructions: 'Repeat the user.',
        model: 'simulator/echo',
        ...agent,
      })
    const base = `${baseUrl()}/t/${tenant.slug}`
    const { page, problems } = await signedInPage(browserContext, user.email)

    // 1. From the navigation to the empty list, then the builder.
    await page.goto(`${base}/agents`)
    await page.locator('nav').getByRole('link', { name: 'Workflows' }).click()
    await page.getByText('No workflows yet').waitFor()
    await page.getByRole('link', { name: 'Build your first workflow' }).click()
    await page.waitForURL(`${base}/workflows/new`)

    // 2. Two steps: the second added with the button; a third added, moved and removed again.
    await page.fill('#field-name', 'Relay')
    await page.fill('#field-slug', 'relay')
    await page.selectOption('#field-steps-0-agent', 'first-echo')
    await page.getByRole('button', { name: 'Add step' }).click()
    await page.selectOption('#field-steps-1-agent', 'second-echo')
    await page.fill('#field-steps-1-input', 'Step two got: {{steps.1.output}}')
    await page.getByRole('button', { name: 'Add step' }).click()
    await page.selectOption('#field-steps-2-agent', 'first-echo')
    await page.getByRole('button', { name: 'Move step 3 up' }).click()
    assert.equal(await page.inputValue('#field-steps-1-agent'), 'first-echo')
    assert.equal(await page.inputValue('#field-steps-2-agent'), 'second-echo')
    assert.equal(await page.inputValue('#field-steps-2-input'), 'Step two got: {{steps.1.output}}')
    await page.getByRole('button', { name: 'Move step 2 down' }).click()
    assert.equal(await page.inputValue('#field-steps-1-agent'), 'second-echo')
    await page.getByRole('button', { name: 'Remove step 3' }).click()
    assert.equal(await page.locator('#workflow-form [data-step]').count(), 2)
    await page.click('#workflow-form button[type=submit]')
    await page.waitForURL(`${base}/workflows/relay`)
    assert.include(await page.locator('h1').innerText(), 'version 1')

    // 3. A test run: the last step's answer streams into the page, then the finished bubble.
    await page.fill('#field-run-input', 'hello relay')
    await page.getByRole('button', { name: 'Test run' }).click()
    const bubble = page.locator('#workflow-output .bubble-assistant')
    await page
      .locator('#workflow-output .bubble-assistant[hx-sse\\:connect] .bubble-text span')
      .first()
      .waitFor({ timeout: 10_000 })
    const partial = await bubble.locator('.bubble-text').innerText()
    assert.isTrue(
      'Step two got: hello relay'.startsWith(partial) && partial.length < 25,
      `the answer arrives in pieces (first: "${partial}")`
    )
    await bubble.locator('.badge', { hasText: 'succeeded' }).waitFor({ timeout: 15_000 })
    assert.equal(await bubble.locator('.bubble-text').innerText(), 'Step two got: hello relay')

    // 4. The run page: two workflow steps, each with its model call nested, totals that add up.
    await bubble.getByRole('link', { name: 'Details' }).click()
    await page.locator('h1', { hasText: 'Run' }).waitFor()
    assert.include(await page.locator('.page-header').innerText(), 'Relay')
    const workflowSteps = page.locator('.step-tree > [data-kind="workflow_step"]')
    assert.equal(await workflowSteps.count(), 2)
    let sum = 0n
    for (const [index, agent] of ['first-echo', 'second-echo'].entries()) {
      const step = workflowSteps.nth(index)
      assert.equal(await step.locator(':scope > .step-row .step-name').innerText(), agent)
      assert.equal(await step.locator(':scope > .step-tree > [data-kind="model_call"]').count(), 1)
      const cost = await step.locator(':scope > .step-row .step-cost').getAttribute('data-credits')
      const callCost = await step
        .locator(':scope > .step-tree .step-cost')
        .getAttribute('data-credits')
      assert.equal(cost, callCost, 'a workflow step costs what its model call cost')
      sum += parseCredits(cost)!
    }
    assert.isAbove(Number(sum), 0)
    const total = parseCredits(await page.locator('#steps-total').getAttribute('data-credits'))
    assert.equal(total, sum)
    const run = await Run.query().where('tenantId', tenant.id).firstOrFail()
    assert.equal(run.costMicros, sum)
    await workflowSteps.nth(1).locator(':scope > details summary').click()
    assert.include(
      await workflowSteps.nth(1).locator(':scope > details').innerText(),
      'Step two got: hello relay'
    )

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
