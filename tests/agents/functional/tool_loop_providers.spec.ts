import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { balanceOf, verifyLedger } from '#credits'
import { runsIdle } from '#agents/services/run_executor'
import { allowPrivateNetworks, FAST, fakeProvider } from '#tests/helpers/agents'
import { anthropic, FakeLlm, openai, type Scenario } from '#tests/helpers/fake_llm'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

/*
 * The tool loop through the real HTTP adapters: a fake OpenAI or Anthropic server asks for the
 * calculator, Agora runs it and sends the result back in the provider's own format, and the
 * second answer ends the run. Committed: the fakes answer outside the test transaction.
 */

const microsOf = (credits: string) => BigInt(Math.round(Number(credits) * 1e6))

for (const kind of ['openai', 'anthropic'] as const) {
  test.group(`agents / tool loop over ${kind}`, (group) => {
    allowPrivateNetworks(group)

    test('the model calls the calculator, gets the result in its format and answers; two model steps, one tool step, one charge', async ({
      client,
      assert,
      cleanup,
    }) => {
      const first: Scenario =
        kind === 'openai'
          ? openai.stream(['Let me compute. '], {
              toolCalls: [{ id: 'call_1', name: 'calculator', arguments: '{"expression":"6*7"}' }],
            })
          : anthropic.stream(['Let me compute. '], {
              toolUse: { id: 'toolu_1', name: 'calculator', input: { expression: '6*7' } },
            })
      const second: Scenario =
        kind === 'openai' ? openai.stream(['It is 42.']) : anthropic.stream(['It is 42.'])
      const fake = await FakeLlm.start(kind, (request, response, index) =>
        (index === 0 ? first : second)(request, response, index)
      )
      const workspace = await WorkspaceFactory.create({ grant: 1_000_000_000n, token: true })
      cleanup(async () => {
        await runsIdle()
        await fake.close()
        await db.from('tenants').where('id', workspace.tenant.id).delete()
        await db.from('users').where('id', workspace.owner.id).delete()
      })
      const { model } = await fakeProvider(workspace.tenant.id, fake, { settings: FAST })
      const created = await client
        .post('/api/v1/agents')
        .bearerToken(workspace.token)
        .json({ name: 'Calc', instructions: 'Use tools.', model, tools: ['calculator'] })
      created.assertStatus(201)

      const response = await client
        .post('/api/v1/agents/calc/runs')
        .bearerToken(workspace.token)
        .json({ input: 'What is 6 times 7?' })
      response.assertStatus(201)
      const run = response.body()
      assert.equal(run.status, 'succeeded')
      assert.equal(run.output, 'Let me compute. It is 42.')
      assert.deepEqual(
        run.steps.map((s: any) => [s.kind, s.status]),
        [
          ['model_call', 'succeeded'],
          ['tool_call', 'succeeded'],
          ['model_call', 'succeeded'],
        ]
      )
      assert.equal(run.steps[1].output, '{"result":42}')

      // Both requests offered the tool; the second carried the call and its result.
      assert.lengthOf(fake.requests, 2)
      const [firstBody, secondBody] = fake.requests.map((r) => r.body)
      if (kind === 'openai') {
        assert.equal(firstBody.tools[0].function.name, 'calculator')
        const [assistant, tool] = secondBody.messages.slice(-2)
        assert.deepEqual(assistant.tool_calls, [
          {
            id: 'call_1',
            type: 'function',
            function: { name: 'calculator', arguments: '{"expression":"6*7"}' },
          },
        ])
        assert.deepEqual(tool, { role: 'tool', tool_call_id: 'call_1', content: '{"result":42}' })
      } else {
        assert.equal(firstBody.tools[0].name, 'calculator')
        const [assistant, user] = secondBody.messages.slice(-2)
        assert.deepInclude(assistant.content, {
          type: 'tool_use',
          id: 'toolu_1',
          name: 'calculator',
          input: { expression: '6*7' },
        })
        assert.deepEqual(user.content, [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: '{"result":42}' },
        ])
      }

      const total = run.steps.reduce((sum: bigint, s: any) => sum + microsOf(s.cost_credits), 0n)
      assert.equal(total, microsOf(run.cost_credits))
      const balance = await balanceOf(workspace.tenant.id)
      assert.equal(BigInt(balance.held), 0n)
      assert.equal(BigInt(balance.balance), 1_000_000_000n - total)
      assert.deepEqual(await verifyLedger(workspace.tenant.id), [])
    }).tags(['@committed'])
  })
}
