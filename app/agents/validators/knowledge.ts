import vine from '@vinejs/vine'

/** POST /api/v1/knowledge/documents as JSON (multipart sends a `file` instead). */
export const textDocumentValidator = vine.create({
  name: vine.string().trim().minLength(1).maxLength(255),
  text: vine.string().minLength(1).maxLength(1_000_000),
})

export const knowledgeSearchValidator = vine.create({
  q: vine.string().trim().minLength(1).maxLength(1000),
  limit: vine.number().withoutDecimals().min(1).max(50).optional(),
})

/** PUT /api/v1/knowledge/settings: an embedding model's name, or null for full text only. */
export const knowledgeSettingsValidator = vine.create({
  embedding_model: vine.string().trim().minLength(1).maxLength(200).nullable(),
})
