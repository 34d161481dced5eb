import db from '@adonisjs/lucid/services/db'
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
import { dispatchWork } from '#agents/services/run_queue'

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
 * ends `ready` with its chunk count, or `failed` with a message for the page.
 */
export async function processDocument(tenantId: string, documentId: string) {
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
  try {
    const text = await extractText(new Uint8Array(row.content), row.kind)
    const chunks = chunkText(text)
    if (!chunks.length) throw new DocumentError('This document has no text to index.')
    await update({ progress: 10 })
    for (let start = 0; start < chunks.length; start += BATCH) {
      const batch = chunks.slice(start, start + BATCH)
      await withTenant(tenantId, (trx) => indexDocumentChunks(tenantId, documentId, batch, trx))
      const done = Math.min(chunks.length, start + BATCH)
      await update({ progress: 10 + Math.floor((done / chunks.length) * 89) })
    }
    await update({ status: 'ready', progress: 100, chunks: chunks.length })
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
 * Queues again the documents whose processing stopped (their process died): each is reset once
 * (one statement over all tenants, so two processes never both take one) and queued like a new
 * upload. Runs with the run engine's periodic recovery; returns how many were queued.
 */
export async function recoverStaleDocuments() {
  const { rows } = await db.rawQuery(
    `UPDATE knowledge_documents SET progress = 0, updated_at = now()
      WHERE status = 'processing' AND updated_at < now() - make_interval(secs => ?)
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
