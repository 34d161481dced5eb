import { randomUUID } from 'node:crypto'
import factory from '@adonisjs/lucid/factories'
import { Agent } from '#agents'
import AgentVersion from '#agents/models/agent_version'

/**
 * An agent row of a tenant (merge tenantId) with its version 1 on simulator/echo, built directly:
 * no model-catalog check and no audit event. Tests of creating agents use the createAgent action.
 */
export const AgentFactory = factory
  .define(Agent, () => ({
    slug: `a-${randomUUID().slice(0, 8)}`,
    name: 'Helper',
    visibility: 'private' as const,
    currentVersion: 1,
  }))
  .after('create', async (_, agent, { $trx }) => {
    await AgentVersion.create(
      {
        tenantId: agent.tenantId,
        agentId: agent.id,
        version: 1,
        instructions: 'Repeat.',
        model: 'simulator/echo',
      },
      { client: $trx }
    )
  })
  .build()
