import { isUuid } from '#core'
import Agent from '#agents/models/agent'
import Workflow from '#agents/models/workflow'
import KnowledgeDocument from '#agents/models/knowledge_document'
import WorkflowVersion from '#agents/models/workflow_version'

/** An agent of the tenant by id or slug (deleted agents are gone), or null → 404. */
export function findAgent(tenantId: string, idOrSlug: unknown) {
  if (typeof idOrSlug !== 'string' || idOrSlug.length > 64) return null
  const query = Agent.query().where('tenantId', tenantId).whereNull('deletedAt')
  const slug = idOrSlug.toLowerCase()
  return isUuid(idOrSlug) ? query.where('id', idOrSlug).first() : query.where('slug', slug).first()
}

/** A workflow of the tenant by id or slug with its current version (deleted ones are gone), or null → 404. */
export async function findWorkflow(tenantId: string, idOrSlug: unknown) {
  if (typeof idOrSlug !== 'string' || idOrSlug.length > 64) return null
  const ref = idOrSlug.toLowerCase()
  const workflow = await Workflow.query()
    .where('tenantId', tenantId)
    .whereNull('deletedAt')
    .where(isUuid(ref) ? 'id' : 'slug', ref)
    .first()
  if (!workflow) return null
  const version = await WorkflowVersion.query()
    .where('tenantId', tenantId)
    .where('workflowId', workflow.id)
    .where('version', workflow.currentVersion)
    .firstOrFail()
  return { workflow, version }
}

/** A knowledge document of the tenant by id, or null → 404 (a malformed id too). */
export function findDocument(tenantId: string, id: unknown) {
  if (!isUuid(id)) return null
  return KnowledgeDocument.query().where('tenantId', tenantId).where('id', id).first()
}
