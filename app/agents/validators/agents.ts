import vine from '@vinejs/vine'
import { boundedInstant, slug } from '#core'
import { RUN_STATUSES } from '#agents/models/run'
import { ERROR_TYPES } from '#agents/services/error_types'

const fields = {
  name: vine.string().trim().minLength(1).maxLength(120),
  slug: slug().optional(),
  description: vine.string().trim().maxLength(2000).optional().nullable(),
  instructions: vine.string().trim().minLength(1).maxLength(100_000),
  model: vine.string().trim().minLength(1).maxLength(200),
  fallback_models: vine
    .array(vine.string().trim().minLength(1).maxLength(200))
    .maxLength(5)
    .optional(),
  // JSON numbers only: `true` or `"5"` is a 422, never coerced.
  temperature: vine.number({ strict: true }).min(0).max(2).optional().nullable(),
  max_tokens: vine.number({ strict: true }).withoutDecimals().min(1).max(32_000).optional(),
  tools: vine.array(vine.any()).maxLength(32).optional(),
  max_steps: vine.number({ strict: true }).withoutDecimals().min(1).max(50).optional(),
  // {documents: "all" | [ids]}, or null to detach; checked against the workspace on save.
  knowledge: vine.any().optional(),
  metadata: vine.record(vine.any()).optional(),
  visibility: vine.enum(['private', 'public'] as const).optional(),
}

export const createAgentValidator = vine.create(fields)

/** PATCH: every field optional; the result is a new version. */
export const updateAgentValidator = vine.create({
  name: fields.name.optional(),
  slug: fields.slug,
  description: fields.description,
  instructions: vine.string().trim().minLength(1).maxLength(100_000).optional(),
  model: vine.string().trim().minLength(1).maxLength(200).optional(),
  fallback_models: fields.fallback_models,
  temperature: fields.temperature,
  max_tokens: fields.max_tokens,
  tools: fields.tools,
  max_steps: fields.max_steps,
  knowledge: fields.knowledge,
  metadata: fields.metadata,
  visibility: fields.visibility,
})

export const startRunValidator = vine.create({
  input: vine.string().minLength(1).maxLength(200_000),
  thread_id: vine.string().trim().uuid().optional().nullable(),
  metadata: vine.record(vine.any()).optional(),
  async: vine.boolean({ strict: true }).optional(),
})

/** GET /api/v1/runs filters (paging is pageParams). */
export const listRunsValidator = vine.create({
  agent: vine
    .string()
    .trim()
    .maxLength(200)
    .meta({ description: 'Only runs of this agent (id or slug)' })
    .optional(),
  status: vine.enum(RUN_STATUSES).optional(),
  error: vine
    .enum(ERROR_TYPES)
    .meta({ description: 'Only failed runs of this error type (as `error_type` on a run)' })
    .optional(),
  member: vine
    .string()
    .trim()
    .uuid()
    .meta({ description: 'Only runs started by this member (user id)' })
    .optional(),
  model: vine
    .string()
    .trim()
    .maxLength(200)
    .meta({ description: 'Only runs charged to this model (as `model` on a run)' })
    .optional(),
  from: boundedInstant().meta({ description: 'Created at or after' }).optional(),
  to: boundedInstant().meta({ description: 'Created before' }).optional(),
})
