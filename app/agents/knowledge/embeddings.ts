import db from '@adonisjs/lucid/services/db'
import type { QueryClientContract } from '@adonisjs/lucid/types/database'
import { providerFor } from '#agents/providers/registry'
import { ProviderError } from '#agents/providers/types'
import { costMicros, embeddingCatalog, type CatalogModel } from '#agents/services/catalog'

/** The width of `knowledge_chunks.embedding` (vector(256)). */
export const EMBEDDING_DIMENSIONS = 256

/** What a workspace embeds with when it never chose: free, offline, and always there. */
export const DEFAULT_EMBEDDING_MODEL = 'simulator/embed'

/** The workspace's choice: a model name, or null for full-text search only. */
export async function embeddingModelSetting(
  tenantId: string,
  client: QueryClientContract = db.connection()
): Promise<string | null> {
  const row = await client
    .from('knowledge_settings')
    .where('tenant_id', tenantId)
    .select('embedding_model')
    .first()
  return row ? row.embedding_model : DEFAULT_EMBEDDING_MODEL
}

/** CONTRACT.md's conservative token estimate (UTF-8 bytes / 3), which holds are sized by. */
export function worstCaseTokens(texts: string[]) {
  return Math.ceil(texts.reduce((sum, text) => sum + Buffer.byteLength(text, 'utf8'), 0) / 3)
}

/** Embeds texts for one workspace with its chosen model, priced from the catalog. */
export type Embedder = {
  model: CatalogModel
  /** Worst-case price of embedding these texts (what a hold must cover). */
  worstCost(texts: string[]): bigint
  /** The vectors (EMBEDDING_DIMENSIONS each), the tokens used and their price (≤ worstCost). */
  embed(
    texts: string[],
    signal: AbortSignal
  ): Promise<{ vectors: number[][]; tokens: number; cost: bigint }>
}

/**
 * The workspace's embedder, or why there is none: full text only by choice, pgvector missing,
 * or the chosen model gone from the catalog (deleted, or its provider removed).
 */
export async function knowledgeEmbedder(
  tenantId: string,
  client?: QueryClientContract
): Promise<{ embedder: Embedder } | { embedder: null; reason: string }> {
  if (!(await vectorSearchAvailable(client)))
    return { embedder: null, reason: 'pgvector is not installed on this database' }
  const name = await embeddingModelSetting(tenantId, client)
  if (name === null) return { embedder: null, reason: 'embeddings are switched off' }
  const model = (await embeddingCatalog(tenantId)).get(name)
  if (!model) return { embedder: null, reason: `the embedding model "${name}" is not available` }
  return { embedder: embedderFor(model) }
}

export function embedderFor(model: CatalogModel): Embedder {
  const worstCost = (texts: string[]) => costMicros(worstCaseTokens(texts), 0, model)
  return {
    model,
    worstCost,
    async embed(texts, signal) {
      const adapter = providerFor(model)
      if (!adapter.embed)
        throw new ProviderError(
          `Provider "${model.providerSlug}" offers no embeddings.`,
          400,
          false
        )
      const result = await adapter.embed({
        model: model.upstreamModel,
        input: texts,
        dimensions: EMBEDDING_DIMENSIONS,
        signal,
      })
      const wrong = result.vectors.find((vector) => vector.length !== EMBEDDING_DIMENSIONS)
      if (result.vectors.length !== texts.length || wrong)
        throw new ProviderError(
          wrong
            ? `"${model.name}" answered with ${wrong.length}-number vectors; knowledge stores ` +
                `${EMBEDDING_DIMENSIONS}. Choose a model that accepts "dimensions" ` +
                '(such as text-embedding-3-small).'
            : `"${model.name}" answered ${result.vectors.length} vectors for ${texts.length} texts.`,
          502,
          false
        )
      // Unreported usage is charged at the estimate; a charge never exceeds the worst case.
      const tokens = result.inputTokens ?? worstCaseTokens(texts)
      const cost = costMicros(tokens, 0, model)
      const worst = worstCost(texts)
      return { vectors: result.vectors, tokens, cost: cost < worst ? cost : worst }
    },
  }
}

/** A vector as pgvector's text form, bound as `?::vector`. */
export function vectorLiteral(vector: number[]) {
  return `[${vector.map((value) => Number(value.toPrecision(7))).join(',')}]`
}

/** Whether pgvector answers here (extension installed, column migrated), and its version. */
type VectorSupport = { version: string } | null

let support: VectorSupport = null
let checkedAt = 0
/** A negative answer is rechecked after this long (an operator may install pgvector later). */
const NEGATIVE_TTL_MS = 60_000

async function vectorSupport(
  client: QueryClientContract = db.connection()
): Promise<VectorSupport> {
  if (support || Date.now() - checkedAt < NEGATIVE_TTL_MS) return support
  const { rows } = await client.rawQuery(
    `SELECT e.extversion FROM pg_extension e
      WHERE e.extname = 'vector'
        AND EXISTS (SELECT 1 FROM pg_attribute a
                     WHERE a.attrelid = to_regclass('knowledge_chunks')
                       AND a.attname = 'embedding' AND NOT a.attisdropped)`
  )
  checkedAt = Date.now()
  support = rows[0] ? { version: String(rows[0].extversion) } : null
  return support
}

/**
 * Whether chunks can be searched by embedding: pgvector installed and `knowledge_chunks.embedding`
 * present. Cached once true; pass the open transaction (PGlite serves one connection at a time).
 */
export async function vectorSearchAvailable(client?: QueryClientContract) {
  return (await vectorSupport(client)) !== null
}

/** pgvector ≥ 0.8 can keep scanning an HNSW index until enough rows pass the filters. */
export async function iterativeScanAvailable(client?: QueryClientContract) {
  const found = await vectorSupport(client)
  if (!found) return false
  const [major, minor] = found.version.split('.').map(Number)
  return major > 0 || minor >= 8
}
