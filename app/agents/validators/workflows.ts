import vine from '@vinejs/vine'
import { slug } from '#core'

const steps = vine
  .array(
    vine.object({
      agent: slug(),
      // Default: step 1 takes {{input}}, every later step the previous step's output.
      input: vine.string().maxLength(20_000).optional(),
    })
  )
  .minLength(1)
  .maxLength(20)

const fields = {
  name: vine.string().trim().minLength(1).maxLength(120),
  slug: slug().optional(),
  description: vine.string().trim().maxLength(2000).optional().nullable(),
  steps,
}

export const createWorkflowValidator = vine.create(fields)

/** PATCH: every field optional; the result is a new version. */
export const updateWorkflowValidator = vine.create({
  name: fields.name.optional(),
  slug: fields.slug,
  description: fields.description,
  steps: steps.clone().optional(),
})
