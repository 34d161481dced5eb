import { InvalidInputException } from '#core'
import { recordAudit } from '#platform'
import { withTenant } from '#tenants'
import { embeddingCatalog } from '#agents/services/catalog'
import {
  DEFAULT_EMBEDDING_MODEL,
  embeddingModelSetting,
  vectorSearchAvailable,
} from '#agents/knowledge/embeddings'
import { requeueDocuments } from '#agents/actions/manage_documents'

/** The workspace's knowledge settings as the API and the page show them. */
export async function knowledgeSettingsJson(tenantId: string) {
  // One after another: inside a transaction they would share one connection anyway.
  const model = await embeddingModelSetting(tenantId)
  const models = await embeddingCatalog(tenantId)
  const vectors = await vectorSearchAvailable()
  return {
    embedding_model: model,
    /** False without pgvector: every search is full text, whatever the model. */
    vector_search: vectors,
    embedding_models: [...models.values()].map((m) => ({
      name: m.name,
      input_price_micros: String(m.inputPrice),
    })),
  }
}

/**
 * Chooses the model that embeds the workspace's knowledge (null: full-text search only). A
 * change queues every document again, so all vectors come from one model; documents being
 * processed right now are queued again when they finish. Returns how many were queued.
 */
export async function saveKnowledgeSettings(input: {
  tenantId: string
  actorId: string | null
  embeddingModel: string | null
}): Promise<{ embedding_model: string | null; reindexing: number }> {
  const name = input.embeddingModel
  if (name !== null) {
    const models = await embeddingCatalog(input.tenantId)
    if (!models.has(name))
      throw new InvalidInputException(
        'embedding_model',
        `"${name.slice(0, 200)}" is not an embedding model of this workspace; choose one of: ` +
          `${[...models.keys()].join(', ')} (or null for full-text search only).`
      )
  }
  const previous = await withTenant(input.tenantId, async (trx) => {
    const row = await trx
      .from('knowledge_settings')
      .where('tenant_id', input.tenantId)
      .forUpdate()
      .first()
    const before: string | null = row ? row.embedding_model : DEFAULT_EMBEDDING_MODEL
    if (before === name && row) return before
    await trx
      .table('knowledge_settings')
      .insert({ tenant_id: input.tenantId, embedding_model: name, updated_at: new Date() })
      .onConflict('tenant_id')
      .merge(['embedding_model', 'updated_at'])
    if (before !== name)
      await recordAudit(
        {
          action: 'agents.knowledge_settings.updated',
          actorId: input.actorId,
          tenantId: input.tenantId,
          subjectType: 'knowledge_settings',
          subjectId: input.tenantId,
          changes: { embedding_model: { from: before, to: name } },
        },
        trx
      )
    return before
  })
  const reindexing = previous === name ? 0 : await requeueDocuments(input.tenantId)
  return { embedding_model: name, reindexing }
}
