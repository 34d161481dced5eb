import { isUuid } from '#core'
import Agent from '#agents/models/agent'

/** An agent of the tenant by id or slug (deleted agents are gone), or null → 404. */
export function findAgent(tenantId: string, idOrSlug: unknown) {
  if (typeof idOrSlug !== 'string' || idOrSlug.length > 64) return null
  const query = Agent.query().where('tenantId', tenantId).whereNull('deletedAt')
  const slug = idOrSlug.toLowerCase()
  return isUuid(idOrSlug) ? query.where('id', idOrSlug).first() : query.where('slug', slug).first()
}
