import db from '@adonisjs/lucid/services/db'
import logger from '@adonisjs/core/services/logger'
import type { QueryClientContract } from '@adonisjs/lucid/types/database'
import { isUuid } from '#core'
import {
  EMBEDDING_DIMENSIONS,
  iterativeScanAvailable,
  knowledgeEmbedder,
  vectorLiteral,
  vectorSearchAvailable,
  type Embedder,
} from '#agents/knowledge/embeddings'

export type SearchMode = 'hybrid' | 'fulltext' | 'vector'

export type SearchHit = {
  document_id: string
  document_name: string
  chunk_id: string
  text: string
  score: number
}

export type SearchOptions = {
  /** Default 5, at most 50. */
  limit?: number
  /** Restricts the search to these documents of the tenant; default all. */
  documentIds?: string[] | 'all'
  /** Default hybrid; without pgvector every mode searches full text (and says so). */
  mode?: SearchMode
  /** The open transaction, if any (PGlite serves one connection at a time). */
  client?: QueryClientContract
  /** Embeds the query; default the workspace's embedder (knowledgeEmbedder). */
  embedder?: Embedder | null
  signal?: AbortSignal
}

export type SearchResult = {
  data: SearchHit[]
  mode: SearchMode
  /** What embedding the query cost (micro-credits; 0 without vectors or with a free model). */
  cost: bigint
}

export const DEFAULT_LIMIT = 5
export const MAX_LIMIT = 50
/** Candidates each method contributes to the fusion. */
const CANDIDATES = 50
/** Reciprocal rank fusion's damping constant (Cormack et al.: 60 works across collections). */
const RRF_K = 60
/** Rows per INSERT: 500 × 5 bindings stays far below PostgreSQL's 65,535. */
const INSERT_BATCH = 500

type Row = Omit<SearchHit, 'score'> & { score: number | string }

/** The WHERE both methods share: this tenant, ready documents, optionally some documents. */
function scope(tenantId: string, documentIds: string[] | null) {
  return {
    sql:
      `c.tenant_id = ? AND d.tenant_id = ? AND d.status = 'ready'` +
      (documentIds ? ` AND c.document_id = ANY(?::uuid[])` : ''),
    // Ids are checked UUIDs, so the array literal needs no quoting.
    bindings: documentIds
      ? [tenantId, tenantId, `{${documentIds.join(',')}}`]
      : [tenantId, tenantId],
  }
}

const SELECT = `SELECT c.id AS chunk_id, c.document_id, d.name AS document_name, c.text`
const FROM = `FROM knowledge_chunks c JOIN knowledge_documents d ON d.id = c.document_id`

function hit(row: Row, score: number): SearchHit {
  return {
    document_id: row.document_id,
    document_name: row.document_name,
    chunk_id: row.chunk_id,
    text: row.text,
    score,
  }
}

/**
 * Full-text ranks (ts_rank_cd) for one tsquery expression over `?` (the query text), through
 * knowledge_fulltext(): a SECURITY DEFINER function, so the GIN index serves even under RLS
 * (see its migration); it answers only for the tenant the transaction is bound to.
 */
async function fulltextQuery(
  client: QueryClientContract,
  tsquery: string,
  query: string,
  tenantId: string,
  documentIds: string[] | null,
  limit: number
): Promise<SearchHit[]> {
  const { rows } = await client.rawQuery(
    `SELECT * FROM knowledge_fulltext(?, ${tsquery}, ?::uuid[], ?)`,
    // Ids are checked UUIDs, so the array literal needs no quoting.
    [tenantId, query, documentIds ? `{${documentIds.join(',')}}` : (null as any), limit]
  )
  return (rows as Row[]).map((row) => hit(row, Number(row.score)))
}

/**
 * Every word of the query (websearch syntax: "phrases", -not, or), else, when nothing has them
 * all, any of its words: a question phrased differently from the text still finds something.
 */
async function fulltext(
  client: QueryClientContract,
  query: string,
  tenantId: string,
  documentIds: string[] | null,
  limit: number
) {
  const words = `websearch_to_tsquery('english', ?)`
  const all = await fulltextQuery(client, words, query, tenantId, documentIds, limit)
  if (all.length) return all
  // plainto_tsquery's lexemes come quoted and normalised: turning & into | keeps them intact.
  const any = `replace(plainto_tsquery('english', ?)::text, ' & ', ' | ')::tsquery`
  return fulltextQuery(client, any, query, tenantId, documentIds, limit)
}

/**
 * Nearest chunks by cosine distance (score = cosine similarity), among documents embedded by
 * `model`: vectors of different models are not comparable.
 */
async function nearest(
  client: QueryClientContract,
  vector: number[],
  model: string,
  where: ReturnType<typeof scope>,
  limit: number
): Promise<SearchHit[]> {
  // Relaxed-order iterative scans may return rows slightly out of order: re-sorted outside.
  const { rows } = await client.rawQuery(
    `WITH hits AS MATERIALIZED (
       ${SELECT}, c.embedding <=> ?::vector AS distance
         ${FROM}
        WHERE ${where.sql} AND d.embedding_model = ? AND c.embedding IS NOT NULL
        ORDER BY distance
        LIMIT ?)
     SELECT * FROM hits ORDER BY distance, chunk_id`,
    [vectorLiteral(vector), ...where.bindings, model, limit]
  )
  return (rows as (Row & { distance: number | string })[]).map((row) =>
    hit(row, 1 - Number(row.distance))
  )
}

/**
 * Runs `fn` where HNSW scans keep going until `limit` rows pass the tenant and document filters
 * (pgvector ≥ 0.8; by default a scan stops after ef_search = 40 candidates, which another
 * tenant's chunks can use up). The settings are transaction-local: one is opened when needed.
 */
async function withVectorScan<T>(
  client: QueryClientContract,
  limit: number,
  fn: (client: QueryClientContract) => Promise<T>
) {
  const iterative = await iterativeScanAvailable(client)
  const apply = (trx: QueryClientContract) =>
    trx.rawQuery(
      iterative
        ? `SELECT set_config('hnsw.ef_search', ?, true), set_config('hnsw.iterative_scan', 'relaxed_order', true)`
        : `SELECT set_config('hnsw.ef_search', ?, true)`,
      [String(Math.max(40, limit * 2))]
    )
  if (client.isTransaction) {
    await apply(client)
    return fn(client)
  }
  return client.transaction(async (trx) => {
    await apply(trx)
    return fn(trx)
  })
}

/** Reciprocal rank fusion: each list adds 1 / (k + rank) for every chunk it ranks. */
function fuse(lists: SearchHit[][], limit: number): SearchHit[] {
  const fused = new Map<string, { hit: SearchHit; score: number; best: number }>()
  for (const list of lists)
    list.forEach((item, index) => {
      const entry = fused.get(item.chunk_id)
      const gain = 1 / (RRF_K + index + 1)
      if (entry) {
        entry.score += gain
        entry.best = Math.min(entry.best, index)
      } else fused.set(item.chunk_id, { hit: item, score: gain, best: index })
    })
  return [...fused.values()]
    .sort(
      (a, b) => b.score - a.score || a.best - b.best || (a.hit.chunk_id < b.hit.chunk_id ? -1 : 1)
    )
    .slice(0, limit)
    .map(({ hit: item, score }) => ({ ...item, score }))
}

/**
 * A tenant's knowledge chunks best first, from ready documents only. Hybrid fuses the top 50
 * of full-text and vector search by reciprocal rank; where vector search is unavailable (no
 * pgvector, embeddings off, the embedding model failing) every mode searches full text and the
 * answer says `fulltext`.
 */
export async function searchChunks(
  tenantId: string,
  query: string,
  options: SearchOptions = {}
): Promise<SearchResult> {
  if (!isUuid(tenantId)) throw new Error('searchChunks needs a tenant id')
  const client = options.client ?? db.connection()
  const asked = Number.isFinite(options.limit) ? Math.floor(options.limit!) : DEFAULT_LIMIT
  const limit = Math.min(MAX_LIMIT, Math.max(1, asked))
  const requested = options.mode ?? 'hybrid'
  const ids =
    options.documentIds === undefined || options.documentIds === 'all'
      ? null
      : options.documentIds.filter((id) => isUuid(id))

  const embedder =
    requested === 'fulltext' || !(await vectorSearchAvailable(client))
      ? null
      : options.embedder !== undefined
        ? options.embedder
        : (await knowledgeEmbedder(tenantId, client)).embedder
  if (!query.trim() || ids?.length === 0)
    return { data: [], mode: embedder ? requested : 'fulltext', cost: 0n }
  let embedded: { vector: number[]; cost: bigint } | null = null
  if (embedder)
    try {
      const result = await embedder.embed([query], options.signal ?? AbortSignal.timeout(30_000))
      embedded = { vector: result.vectors[0], cost: result.cost }
    } catch (error) {
      // Searching the words beats failing: the model's provider may be down for a while.
      logger.warn({ err: error, model: embedder.model.name }, 'embedding a query failed')
    }
  const mode: SearchMode = embedded ? requested : 'fulltext'
  const cost = embedded?.cost ?? 0n
  const where = scope(tenantId, ids)

  if (!embedded) return { data: await fulltext(client, query, tenantId, ids, limit), mode, cost }
  const model = embedder!.model.name
  if (mode === 'vector')
    return {
      data: await withVectorScan(client, limit, (trx) =>
        nearest(trx, embedded.vector, model, where, limit)
      ),
      mode,
      cost,
    }
  return withVectorScan(client, CANDIDATES, async (trx) => {
    const words = await fulltext(trx, query, tenantId, ids, CANDIDATES)
    const near = await nearest(trx, embedded.vector, model, where, CANDIDATES)
    return { data: fuse([words, near], limit), mode, cost }
  })
}

/**
 * Writes a document's chunks with their embeddings (`vectors`, in chunk order, kept when vector
 * search is available), up to 500 rows per statement. Pass the transaction bound to the tenant
 * (withTenant): row-level security checks the writes. Returns how many chunks were written.
 */
export async function indexDocumentChunks(
  tenantId: string,
  documentId: string,
  chunks: { position: number; text: string }[],
  trx?: QueryClientContract,
  vectors: number[][] | null = null
): Promise<number> {
  const client = trx ?? db.connection()
  const withVectors = vectors !== null && (await vectorSearchAvailable(client))
  if (
    withVectors &&
    (vectors.length !== chunks.length || vectors.some((v) => v.length !== EMBEDDING_DIMENSIONS))
  )
    throw new Error(
      `Embeddings must be ${chunks.length} vectors of ${EMBEDDING_DIMENSIONS} numbers.`
    )
  for (let start = 0; start < chunks.length; start += INSERT_BATCH) {
    // PostgreSQL text cannot hold NUL, which PDF extraction sometimes yields.
    const batch = chunks
      .slice(start, start + INSERT_BATCH)
      .map((chunk) => ({ position: chunk.position, text: chunk.text.replaceAll('\u0000', '') }))
    const bindings: (string | number)[] = []
    const rows = batch.map((chunk, index) => {
      bindings.push(tenantId, documentId, chunk.position, chunk.text)
      if (!withVectors) return '(?, ?, ?, ?)'
      bindings.push(vectorLiteral(vectors[start + index]))
      return '(?, ?, ?, ?, ?::vector)'
    })
    await client.rawQuery(
      `INSERT INTO knowledge_chunks (tenant_id, document_id, position, text${withVectors ? ', embedding' : ''})
       VALUES ${rows.join(', ')}`,
      bindings
    )
  }
  return chunks.length
}
