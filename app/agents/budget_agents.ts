/*
 * Tells credits which agents a tenant has, for budgets (credits sits below agents and never
 * reads their table itself).
 */
import { isUuid } from '#core'
import { registerBudgetAgents } from '#credits'
import Agent from '#agents/models/agent'

registerBudgetAgents({
  async names(tenantId, ids) {
    const agents = await Agent.query()
      .where('tenantId', tenantId)
      .whereIn('id', ids.filter(isUuid))
      .whereNull('deletedAt')
      .select('id', 'name')
    return new Map(agents.map((a) => [a.id, a.name]))
  },
  async find(tenantId, idOrSlug) {
    const agent = await Agent.query()
      .where('tenantId', tenantId)
      .whereNull('deletedAt')
      .where((q) => {
        q.where('slug', idOrSlug.toLowerCase())
        if (isUuid(idOrSlug)) q.orWhere('id', idOrSlug)
      })
      .first()
    return agent ? { id: agent.id, name: agent.name } : null
  },
})
