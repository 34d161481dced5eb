import db from '@adonisjs/lucid/services/db'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import { FactCache, hydrate, toFacts, type Facts } from '#auth'
import { isUuid } from '#core'
import Agent from '#agents/models/agent'
import AgentVersion from '#agents/models/agent_version'

const facts = new FactCache('agents')
const key = (tenantId: string, idOrSlug: string) => `${tenantId}:${idOrSlug}`

/**
 * An agent of the tenant (by id or slug) with its current version, for starting runs: from a
 * short-lived cache (no query on a warm path), deleted by every write to the agent
 * (see forgetAgent). Null when there is no such agent (a miss is not cached).
 */
export async function agentForRun(
  tenantId: string,
  idOrSlug: unknown
): Promise<{ agent: Agent; version: AgentVersion } | null> {
  if (typeof idOrSlug !== 'string' || idOrSlug.length > 64) return null
  const ref = isUuid(idOrSlug as unknown) ? idOrSlug : idOrSlug.toLowerCase()
  const found = await facts.get<Facts>(key(tenantId, ref), async () => {
    const agent = await db
      .from('agents')
      .where('tenant_id', tenantId)
      .whereNull('deleted_at')
      .where(isUuid(ref) ? 'id' : 'slug', ref)
      .first()
    if (!agent) return null
    const version = await db
      .from('agent_versions')
      .where('agent_id', agent.id)
      .where('version', agent.current_version)
      .first()
    return version ? { agent: toFacts(agent), version: toFacts(version) } : null
  })
  if (!found) return null
  return {
    agent: hydrate(Agent, found.agent as Facts),
    version: hydrate(AgentVersion, found.version as Facts),
  }
}

/** Forgets an agent under its id and its slugs (before and after a rename), in every process. */
export function forgetAgent(
  agent: { id: string; tenantId: string; slug: string },
  trx?: TransactionClientContract | null,
  oldSlug?: string
) {
  const keys = [
    key(agent.tenantId, agent.id),
    key(agent.tenantId, agent.slug),
    ...(oldSlug ? [key(agent.tenantId, oldSlug)] : []),
  ]
  return facts.forgetAfterCommit(keys, trx)
}
