import vine from '@vinejs/vine'
import type { Infer } from '@vinejs/vine/types'
import { dateTimeSchema } from '#core'
import type Workflow from '#agents/models/workflow'
import type WorkflowVersion from '#agents/models/workflow_version'

const stepsSchema = vine.array(
  vine.object({
    agent: vine.string().meta({ description: "The agent's slug" }),
    input: vine.string().meta({
      description:
        'Template: {{input}} is the workflow input, {{steps.N.output}} the output of step N (from 1)',
    }),
  })
)

/** A workflow with its current version's steps (OpenAPI `Workflow`). */
export const workflowSchema = vine.object({
  id: vine.string(),
  slug: vine.string(),
  name: vine.string(),
  description: vine.string().nullable(),
  version: vine.number().withoutDecimals(),
  steps: stepsSchema.optional(),
  created_at: dateTimeSchema(),
  updated_at: dateTimeSchema(),
})

/** One immutable version of a workflow (OpenAPI `WorkflowVersion`). */
export const workflowVersionSchema = vine.object({
  version: vine.number().withoutDecimals(),
  steps: stepsSchema,
  created_at: dateTimeSchema(),
})

export function serializeWorkflowVersion(
  version: WorkflowVersion
): Infer<typeof workflowVersionSchema> {
  return {
    version: version.version,
    steps: version.steps,
    created_at: version.createdAt.toISO()!,
  }
}

/** The workflow as the API shows it; with its version, the steps too. */
export function serializeWorkflow(
  workflow: Workflow,
  version?: WorkflowVersion
): Infer<typeof workflowSchema> {
  return {
    id: workflow.id,
    slug: workflow.slug,
    name: workflow.name,
    description: workflow.description,
    version: workflow.currentVersion,
    ...(version ? { steps: version.steps } : {}),
    created_at: workflow.createdAt.toISO()!,
    updated_at: workflow.updatedAt.toISO()!,
  }
}
