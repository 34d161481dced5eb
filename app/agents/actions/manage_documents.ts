import db from '@adonisjs/lucid/services/db'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import type { DatabaseQueryBuilderContract } from '@adonisjs/lucid/types/querybuilder'
import logger from '@adonisjs/core/services/logger'
import { Locator } from '@adonisjs/queue'
import { DateTime } from 'luxon'
import { DomainException, InvalidInputException, safeText } from '#core'
import { recordAudit } from '#platform'
import { withTenant } from '#tenants'
import KnowledgeDocument from '#agents/models/knowledge_document'
import ProcessDocumentJob from '#agents/jobs/process_document'
import {
  detectKind,
  DocumentError,
  extractText,
  MAX_DOCUMENT_BYTES,
} from '#agents/knowledge/extract'
import { chunkText } from '#agents/knowledge/chunk'
import { indexDocumentChunks } from '#agents/knowledge/search'
import {
  embeddingModelSetting,
  knowledgeEmbedder,
  vectorLiteral,
  vectorSearchAvailable,
  type Embedder,
} from '#agents/knowledge/embeddings'
import { ProviderError } from '#agents/providers/types'
import { priceRecord } from '#agents/services/catalog'
import { dispatchWork } from '#agents/services/run_queue'
import { hold as holdCredits, settle, InsufficientCreditsException, type Hold } from '#credits'

Locator.register('ProcessDocumentJob', ProcessDocumentJob)

/** Chunks written (and embedded) per transaction; progress moves after each batch. */
const BATCH = 200

const MEDIA_TYPES = {
  text: 'text/plain',
  markdown: 'text/markdown',
  csv: 'text/csv',
  pdf: 'application/pdf',
} as const

/**
 * Adds a document: its type decided by its content (422 on `field` for an unsupported, empty or
 * too large file), the upload stored in the database (every process can read it), then queued
 * for extraction and indexing. Answers at once with the document `processing`.
 */
export async function addDocument(input: {
  tenantId: string
  actorId: string | null
  name: string
  bytes: Uint8Array
  declaredType?: string | null
  field: string
}) {
  if (input.bytes.length > MAX_DOCUMENT_BYTES)
    throw new InvalidInputException(
      input.field,
      `Documents are limited to ${MAX_DOCUMENT_BYTES / 1024 / 1024} MB.`
    )
  let kind: KnowledgeDocument['kind']
  try {
    kind = detectKind(input.bytes, input.name, input.declaredType)
  } catch (error) {
    if (error instanceof DocumentError) throw new InvalidInputException(input.field, error.message)
    throw error
  }
  const document = await withTenant(input.tenantId, async (trx) => {
    const created = await KnowledgeDocument.create(
      {
        tenantId: input.tenantId,
        // A file name comes from the multipart headers, which the input checks never see.
        name: safeText(input.name),
        mediaType: MEDIA_TYPES[kind],
        kind,
        bytes: input.bytes.length,
        content: Buffer.from(input.bytes),
        status: 'processing',
        error: null,
        chunks: 0,
        progress: 0,
        createdBy: input.actorId,
      },
      { client: trx }
    )
    await recordAudit(
      {
        action: 'agents.document.created',
        actorId: input.actorId,
        tenantId: input.tenantId,
        subjectType: 'knowledge_document',
        subjectId: created.id,
        changes: { name: safeText(input.name), kind, bytes: input.bytes.length },
      },
      trx
    )
    return created
  })
  // Stored already: if the queue is unreachable now, the periodic recovery queues it later.
  await queueDocument(document).catch((error) =>
    logger.warn({ err: error, document_id: document.id }, 'queueing a document failed')
  )
  return document
}

/** Indexes the document again (after a failure, or with a new embedding model). */
export async function reindexDocument(document: KnowledgeDocument, actorId: string | null) {
  // Two indexers of one document would write its chunks twice: only a stalled one is replaced.
  if (
    document.status === 'processing' &&
    document.updatedAt > DateTime.now().minus({ seconds: REINDEX_STALLED_AFTER_S })
  )
    throw new DomainException('This document is still being processed; wait for it to finish.', {
      status: 409,
      code: 'E_DOCUMENT_PROCESSING',
    })
  await withTenant(document.tenantId, async (trx) => {
    await trx.from('knowledge_chunks').where('document_id', document.id).delete()
    await trx
      .from('knowledge_documents')
      .where('id', document.id)
      .update({ status: 'processing', progress: 0, chunks: 0, error: null, updated_at: new Date() })
    await recordAudit(
      {
        action: 'agents.document.reindexed',
        actorId,
        tenantId: document.tenantId,
        subjectType: 'knowledge_document',
        subjectId: document.id,
      },
      trx
    )
  })
  document.merge({ status: 'processing', progress: 0, chunks: 0, error: null })
  await queueDocument(document)
}

/** Deletes a document with its chunks and their vectors (one cascade). */
export async function deleteDocument(document: KnowledgeDocument, actorId: string | null) {
  await withTenant(document.tenantId, async (trx) => {
    await trx.from('knowledge_documents').where('id', document.id).delete()
    await recordAudit(
      {
        action: 'agents.document.deleted',
        actorId,
        tenantId: document.tenantId,
        subjectType: 'knowledge_document',
        subjectId: document.id,
        changes: { name: document.name },
      },
      trx
    )
  })
}

function queueDocument(document: Pick<KnowledgeDocument, 'id' | 'tenantId'>) {
  const payload = { tenantId: document.tenantId, documentId: document.id }
  return dispatchWork(
    async () => {
      await ProcessDocumentJob.dispatch(payload).toQueue('runs')
    },
    () => processDocumentInBackground(payload.tenantId, payload.documentId)
  )
}

const processing = new Set<Promise<void>>()

/** Resolves once no document is being processed in this process (shutdown, tests). */
export async function documentsIdle() {
  while (processing.size) await Promise.allSettled([...processing])
}

/** Documents processed at once in this process: a PDF's worker may take 512 MB. */
const CONCURRENCY = 2
let running = 0
const waiting: (() => void)[] = []

async function processInTurn(tenantId: string, documentId: string) {
  while (running >= CONCURRENCY) await new Promise<void>((resolve) => waiting.push(resolve))
  running++
  try {
    await processDocument(tenantId, documentId)
  } finally {
    running--
    waiting.shift()?.()
  }
}

export function processDocumentInBackground(tenantId: string, documentId: string) {
  const work: Promise<void> = processInTurn(tenantId, documentId)
    .catch((error) =>
      logger.error({ err: error, document_id: documentId }, 'processing a document failed')
    )
    .finally(() => processing.delete(work))
  processing.add(work)
}

/**
 * Claims a queued document (progress 0 → 1: whoever claims first does the work), extracts its
 * text, chunks it with overlap and indexes the chunks in batches, moving `progress` as it goes;
 * ends `ready` with its chunk count, or `failed` with a message for the page. Embeddings come
 * from the workspace's embedding model, paid from one hold over the worst case (a model that
 * costs credits needs them available first), charged what the provider reports.
 */
export async function processDocument(tenantId: string, documentId: string) {
  if (await reembedDocument(tenantId, documentId)) return
  const claimed = await withTenant(tenantId, (trx) =>
    trx
      .from('knowledge_documents')
      .where('tenant_id', tenantId)
      .where('id', documentId)
      .where('status', 'processing')
      .where('progress', 0)
      .update({ progress: 1, updated_at: new Date() })
      .returning(['kind', 'content'])
  )
  const row = (claimed as { kind: KnowledgeDocument['kind']; content: Buffer }[])[0]
  if (!row) return
  // What a process that died half-way wrote goes first.
  await withTenant(tenantId, (trx) =>
    trx.from('knowledge_chunks').where('document_id', documentId).delete()
  )
  const update = (values: Record<string, unknown>) =>
    withTenant(tenantId, (trx) =>
      trx
        .from('knowledge_documents')
        .where('id', documentId)
        .update({ ...values, updated_at: new Date() })
    )
  const setting = await embeddingModelSetting(tenantId)
  const { embedder } = await knowledgeEmbedder(tenantId)
  const billing = { hold: null as Hold | null, spent: 0n }
  // Why the vectors are missing (credits, the provider): the words are indexed all the same.
  let noVectors: string | null = null
  const withoutVectors = (error: unknown) => {
    if (!(error instanceof DocumentError)) throw error
    noVectors = error.message
    return null
  }
  try {
    const text = await extractText(new Uint8Array(row.content), row.kind)
    const chunks = chunkText(text)
    if (!chunks.length) throw new DocumentError('This document has no text to index.')
    if (embedder)
      billing.hold = await holdForEmbedding(tenantId, documentId, embedder, chunks).catch(
        withoutVectors
      )
    await update({ progress: 10 })
    for (let start = 0; start < chunks.length; start += BATCH) {
      const batch = chunks.slice(start, start + BATCH)
      // Embedded before the transaction opens: a slow provider holds no connection.
      const vectors =
        embedder && !noVectors
          ? await embedBatch(embedder, batch, billing).catch(withoutVectors)
          : null
      await withTenant(tenantId, (trx) =>
        indexDocumentChunks(tenantId, documentId, batch, trx, vectors)
      )
      const done = Math.min(chunks.length, start + BATCH)
      await update({ progress: 10 + Math.floor((done / chunks.length) * 89) })
    }
    await update({
      status: 'ready',
      progress: 100,
      chunks: chunks.length,
      embedding_model: noVectors ? null : (embedder?.model.name ?? null),
      error: noVectors ? `Searchable by its words only: ${noVectors}` : null,
    })
  } catch (error) {
    const message =
      error instanceof DocumentError ? error.message : 'The document could not be processed.'
    if (!(error instanceof DocumentError))
      logger.error({ err: error, document_id: documentId }, 'indexing a document failed')
    // The chunks of a half-indexed document go: a document is searchable whole or not at all.
    await withTenant(tenantId, async (trx) => {
      await trx.from('knowledge_chunks').where('document_id', documentId).delete()
      await trx
        .from('knowledge_documents')
        .where('id', documentId)
        .update({ status: 'failed', error: message, chunks: 0, updated_at: new Date() })
    })
  } finally {
    // What the provider already embedded is paid for, even when the document failed later.
    if (billing.hold)
      await settle(billing.hold.id, billing.spent, {
        tenantId,
        price: priceRecord(embedder!.model),
      })
  }
  // The workspace chose another model meanwhile: its vectors are made again.
  if ((await embeddingModelSetting(tenantId)) !== setting)
    await queueDocument({ id: documentId, tenantId })
}

/**
 * Embeds a ready document's chunks again with the workspace's current model (after the model
 * changed), in place: the document stays searchable by its words throughout and by vectors
 * again once done. Claimed like processing (progress 100 → 1, the old model's name cleared, so
 * no vector search sees half-replaced vectors). False when the document is not one to re-embed.
 */
async function reembedDocument(tenantId: string, documentId: string) {
  // Without pgvector there are no vectors to make.
  if (!(await vectorSearchAvailable())) return false
  const setting = await embeddingModelSetting(tenantId)
  const claimed = await withTenant(tenantId, (trx) =>
    trx
      .from('knowledge_documents')
      .where('tenant_id', tenantId)
      .where('id', documentId)
      .where('status', 'ready')
      .where('progress', 100)
      .where(embeddedOtherwiseThan(setting))
      .update({ progress: 1, embedding_model: null, updated_at: new Date() })
  )
  if (Number(claimed) === 0) return false
  const { embedder } = await knowledgeEmbedder(tenantId)
  const chunks: { id: string; text: string }[] = await withTenant(tenantId, (trx) =>
    trx
      .from('knowledge_chunks')
      .where('document_id', documentId)
      .orderBy('position')
      .select('id', 'text')
  )
  const billing = { hold: null as Hold | null, spent: 0n }
  let model: string | null = null
  let failure: string | null = null
  try {
    if (embedder) billing.hold = await holdForEmbedding(tenantId, documentId, embedder, chunks)
    for (let start = 0; start < chunks.length; start += BATCH) {
      const batch = chunks.slice(start, start + BATCH)
      const vectors = embedder ? await embedBatch(embedder, batch, billing) : null
      await withTenant(tenantId, (trx) => writeEmbeddings(trx, batch, vectors))
      const done = Math.min(chunks.length, start + BATCH)
      await withTenant(tenantId, (trx) =>
        trx
          .from('knowledge_documents')
          .where('id', documentId)
          .update({
            progress: Math.max(1, Math.floor((done / chunks.length) * 99)),
            updated_at: new Date(),
          })
      )
    }
    model = embedder?.model.name ?? null
  } catch (error) {
    // Searchable by words still; the page says why its vectors are missing.
    failure = error instanceof DocumentError ? error.message : 'The document could not be embedded.'
    if (!(error instanceof DocumentError))
      logger.error({ err: error, document_id: documentId }, 'embedding a document failed')
  } finally {
    if (billing.hold)
      await settle(billing.hold.id, billing.spent, {
        tenantId,
        price: priceRecord(embedder!.model),
      })
  }
  await withTenant(tenantId, (trx) =>
    trx
      .from('knowledge_documents')
      .where('id', documentId)
      .update({ progress: 100, embedding_model: model, error: failure, updated_at: new Date() })
  )
  if ((await embeddingModelSetting(tenantId)) !== setting)
    await queueDocument({ id: documentId, tenantId })
  return true
}

/** Documents whose vectors are not from `model` (SQL's IS DISTINCT FROM, null-safe). */
function embeddedOtherwiseThan(model: string | null) {
  return (query: DatabaseQueryBuilderContract) =>
    model === null
      ? query.whereNotNull('embedding_model')
      : query.where((q: DatabaseQueryBuilderContract) =>
          q.whereNull('embedding_model').orWhereNot('embedding_model', model)
        )
}

/** Replaces chunks' vectors (null clears them: embeddings were switched off). */
async function writeEmbeddings(
  trx: TransactionClientContract,
  chunks: { id: string }[],
  vectors: number[][] | null
) {
  if (!(await vectorSearchAvailable(trx))) return
  // Ids are UUIDs from the database, so the array literal needs no quoting.
  const ids = `{${chunks.map((chunk) => chunk.id).join(',')}}`
  if (!vectors)
    return trx.rawQuery(`UPDATE knowledge_chunks SET embedding = NULL WHERE id = ANY(?::uuid[])`, [
      ids,
    ])
  await trx.rawQuery(
    `UPDATE knowledge_chunks c SET embedding = v.embedding::vector
       FROM unnest(?::uuid[], ?::text[]) AS v(id, embedding) WHERE c.id = v.id`,
    [ids, vectors.map(vectorLiteral)]
  )
}

/**
 * Queues the workspace's ready documents whose vectors are not from its embedding model (it
 * just changed); each is re-embedded in place. Returns how many were queued.
 */
export async function requeueDocuments(tenantId: string) {
  if (!(await vectorSearchAvailable())) return 0
  const setting = await embeddingModelSetting(tenantId)
  const rows: { id: string }[] = await withTenant(tenantId, (trx) =>
    trx
      .from('knowledge_documents')
      .where('tenant_id', tenantId)
      .where('status', 'ready')
      .where(embeddedOtherwiseThan(setting))
      .select('id')
  )
  for (const row of rows)
    await queueDocument({ id: row.id, tenantId }).catch((error) =>
      logger.warn({ err: error, document_id: row.id }, 'queueing a document failed')
    )
  return rows.length
}

/** One hold for a document's embeddings at their worst case; null when the model is free. */
async function holdForEmbedding(
  tenantId: string,
  documentId: string,
  embedder: Embedder,
  chunks: { text: string }[]
) {
  const amount = embedder.worstCost(chunks.map((chunk) => chunk.text))
  if (amount === 0n) return null
  try {
    return await holdCredits({
      tenantId,
      amount,
      reference: `knowledge_document:${documentId}`,
      ttlSeconds: 3600,
    })
  } catch (error) {
    if (!(error instanceof InsufficientCreditsException)) throw error
    throw new DocumentError(
      `Not enough credits to embed this document with ${embedder.model.name}: it ${error.message}. ` +
        'Add credits or choose another embedding model, then re-index.'
    )
  }
}

/** Attempts per batch; retryable provider errors (429, 5xx, timeouts) wait 1 s, then 4 s. */
const EMBED_ATTEMPTS = 3

async function embedBatch(
  embedder: Embedder,
  batch: { text: string }[],
  billing: { spent: bigint }
) {
  const texts = batch.map((chunk) => chunk.text)
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await embedder.embed(texts, AbortSignal.timeout(120_000))
      billing.spent += result.cost
      return result.vectors
    } catch (error) {
      const retryable =
        error instanceof ProviderError ? error.retryable : (error as Error)?.name === 'TimeoutError'
      if (retryable && attempt < EMBED_ATTEMPTS) {
        const wait = Math.max((error as ProviderError).retryAfterMs ?? 0, 4 ** (attempt - 1) * 1000)
        await new Promise((resolve) => setTimeout(resolve, Math.min(wait, 30_000)))
        continue
      }
      if (error instanceof ProviderError)
        throw new DocumentError(`Embedding with ${embedder.model.name} failed: ${error.message}`)
      throw error
    }
  }
}

/**
 * A document `processing` this long without progress lost its process (progress moves every
 * batch) or was never taken from the queue.
 */
const STALE_AFTER_S = 600
/** Re-index may replace an indexer that has made no progress for this long (the page's button). */
const REINDEX_STALLED_AFTER_S = 120

/**
 * Queues again the documents whose processing or re-embedding stopped (their process died):
 * each is reset once
 * (one statement over all tenants, so two processes never both take one) and queued like a new
 * upload. Runs with the run engine's periodic recovery; returns how many were queued.
 */
export async function recoverStaleDocuments() {
  const { rows } = await db.rawQuery(
    `UPDATE knowledge_documents
        SET progress = CASE WHEN status = 'processing' THEN 0 ELSE 100 END, updated_at = now()
      WHERE (status = 'processing' OR (status = 'ready' AND progress < 100))
        AND updated_at < now() - make_interval(secs => ?)
      RETURNING id, tenant_id`,
    [STALE_AFTER_S]
  )
  for (const row of rows as { id: string; tenant_id: string }[])
    // Not queued now (the queue is down): reset again at the next recovery, STALE_AFTER_S on.
    await queueDocument({ id: row.id, tenantId: row.tenant_id }).catch((error) =>
      logger.warn({ err: error, document_id: row.id }, 'queueing a stalled document failed')
    )
  return rows.length as number
}
