import vine from '@vinejs/vine'
import type { Infer } from '@vinejs/vine/types'
import { dateTimeSchema } from '#core'
import type KnowledgeDocument from '#agents/models/knowledge_document'

/** A knowledge document (OpenAPI `KnowledgeDocument`); never its content. */
export const knowledgeDocumentSchema = vine.object({
  id: vine.string(),
  name: vine.string(),
  kind: vine.string().meta({ description: 'text, markdown, csv or pdf (decided by the content)' }),
  bytes: vine.number().withoutDecimals(),
  status: vine.enum(['processing', 'ready', 'failed'] as const),
  progress: vine
    .number()
    .withoutDecimals()
    .meta({ description: '0–100 while processing (or while a ready document is re-embedded)' }),
  chunks: vine.number().withoutDecimals(),
  embedding_model: vine.string().nullable().meta({
    description: 'The model whose vectors its passages hold; null: searched by words only',
  }),
  error: vine
    .string()
    .optional()
    .meta({ description: 'Why it failed, or (when ready) why it has no vectors' }),
  created_at: dateTimeSchema(),
  updated_at: dateTimeSchema(),
})

/** One search hit (OpenAPI `KnowledgeHit`). */
export const knowledgeHitSchema = vine.object({
  document_id: vine.string(),
  document_name: vine.string(),
  chunk_id: vine.string(),
  text: vine.string(),
  score: vine.number(),
})

export function serializeDocument(
  document: KnowledgeDocument
): Infer<typeof knowledgeDocumentSchema> {
  return {
    id: document.id,
    name: document.name,
    kind: document.kind,
    bytes: document.bytes,
    status: document.status,
    progress: document.progress,
    chunks: document.chunks,
    embedding_model: document.embeddingModel ?? null,
    ...(document.error ? { error: document.error } : {}),
    created_at: document.createdAt.toISO()!,
    updated_at: document.updatedAt.toISO()!,
  }
}
