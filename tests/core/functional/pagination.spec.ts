import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { AgentFactory } from '#database/factories/agent_factory'

test.group('core / keyset paging', () => {
  test('rows created within one millisecond are each listed once, page after page', async ({
    client,
    assert,
  }) => {
    const { tenant, token } = await WorkspaceFactory.create({ token: true })
    const agents = await AgentFactory.merge({ tenantId: tenant.id }).createMany(4)
    // Microseconds apart inside one millisecond: a cursor rounded to the millisecond skips some.
    for (const [index, agent] of agents.entries()) {
      await db
        .from('agents')
        .where('id', agent.id)
        .update({ created_at: `2026-03-01T12:00:00.000${index + 1}00Z` })
    }
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const response = await client
        .get('/api/v1/agents')
        .qs({ limit: 1, ...(cursor ? { cursor } : {}) })
        .bearerToken(token!)
      response.assertStatus(200)
      seen.push(...response.body().data.map((agent: { id: string }) => agent.id))
      cursor = response.body().next_cursor
    } while (cursor && seen.length <= agents.length)
    assert.sameMembers(
      seen,
      agents.map((agent) => agent.id)
    )
    assert.lengthOf(seen, agents.length)
  })
})
