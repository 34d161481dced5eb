import { hold, InsufficientCreditsException, release, settle } from '#credits'
import { knowledgeEmbedder } from '#agents/knowledge/embeddings'
import { searchChunks } from '#agents/knowledge/search'
import { priceRecord } from '#agents/services/catalog'

/**
 * A search from the API or the Knowledge page. Embedding the query with a priced model is paid
 * like a run (a hold over the worst case, then the charge); when credits do not cover it the
 * search uses words only (`mode: fulltext`) rather than failing.
 */
export async function searchKnowledge(tenantId: string, query: string, limit: number) {
  const { embedder } = await knowledgeEmbedder(tenantId)
  const worst = embedder && query.trim() ? embedder.worstCost([query]) : 0n
  if (!embedder || worst === 0n) return searchChunks(tenantId, query, { limit, embedder })
  let held
  try {
    held = await hold({ tenantId, amount: worst, reference: 'knowledge_search' })
  } catch (error) {
    if (!(error instanceof InsufficientCreditsException)) throw error
    return searchChunks(tenantId, query, { limit, embedder: null })
  }
  try {
    const found = await searchChunks(tenantId, query, { limit, embedder })
    await settle(held.id, found.cost, { tenantId, price: priceRecord(embedder.model) })
    return found
  } catch (error) {
    await release(held.id, { tenantId })
    throw error
  }
}
