import { randomUUID } from 'node:crypto'
import type { HttpContext } from '@adonisjs/core/http'
import { errors as vineErrors } from '@vinejs/vine'
import { NotFoundException, urlFor, type Refusal } from '#core'
import { currentTenant } from '#tenants'
import Agent from '#agents/models/agent'
import type Workflow from '#agents/models/workflow'
import type WorkflowVersion from '#agents/models/workflow_version'
import { findWorkflow } from '#agents/services/lookup'
import { templateError } from '#agents/services/workflow_template'
import { createWorkflowValidator } from '#agents/validators/workflows'
import type { FieldErrors } from '#agents/controllers/web/agent_form'
import { can } from '#agents/controllers/web/helpers'

/** One step row as typed: the agent's slug and the input template (empty: the default). */
export type StepValues = { agent: string; input: string }

/** What the workflow builder shows: the raw text the user typed (or the saved version). */
export type WorkflowFormValues = {
  name: string
  slug: string
  description: string
  steps: StepValues[]
}

/** Field errors keyed by full path: `name`, `steps` (the list), `steps.0.agent`, `steps.1.input`. */
export type WorkflowFormState = { values: WorkflowFormValues; errors: FieldErrors | null }

/** The validated form, ready for createWorkflow/updateWorkflow. */
export type WorkflowFormInput = {
  name: string
  slug?: string
  description: string | null
  steps: { agent: string; input?: string }[]
}

/** Rows read from a body; far above the validator's 20 steps, so a long form is refused, not cut. */
const MAX_ROWS = 50

function text(value: unknown) {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : ''
}

/**
 * The step rows of a body, in index order. `steps[N][…]` arrives as an array, or as an object
 * when an index is above the body parser's array limit; rows left entirely blank (the builder's
 * spare row) are dropped.
 */
function stepRows(raw: unknown): StepValues[] {
  if (!raw || typeof raw !== 'object') return []
  const entries = Array.isArray(raw)
    ? raw.map((row, index) => [index, row] as const)
    : Object.entries(raw)
        .filter(([key]) => /^\d{1,3}$/.test(key))
        .map(([key, row]) => [Number(key), row] as const)
        .sort((a, b) => a[0] - b[0])
  return entries
    .slice(0, MAX_ROWS)
    .map(([, row]) => {
      const fields = (row && typeof row === 'object' ? row : {}) as Record<string, unknown>
      return { agent: text(fields.agent).trim(), input: text(fields.input) }
    })
    .filter((row) => row.agent !== '' || row.input.trim() !== '')
}

/** The raw request body as form values (anything unexpected becomes empty, never a crash). */
export function workflowFormValues(body: Record<string, unknown>): WorkflowFormValues {
  return {
    name: text(body.name),
    slug: text(body.slug),
    description: text(body.description),
    steps: stepRows(body.steps),
  }
}

/** Form values of a saved workflow: its fields and its current version's steps. */
export function workflowValuesOf(workflow: Workflow, version: WorkflowVersion): WorkflowFormValues {
  return {
    name: workflow.name,
    slug: workflow.slug,
    description: workflow.description ?? '',
    steps: version.steps.map((step) => ({ agent: step.agent, input: step.input })),
  }
}

export function blankWorkflowValues(): WorkflowFormValues {
  return { name: '', slug: '', description: '', steps: [] }
}

/** Validates the builder; throws one validation error listing every invalid field at once. */
export async function validateWorkflowForm(values: WorkflowFormValues): Promise<WorkflowFormInput> {
  const optional = (value: string) => (value.trim() === '' ? undefined : value)
  const errors: { field: string; message: string }[] = []
  const add = (field: string, message: string) => {
    if (!errors.some((e) => e.field === field)) errors.push({ field, message })
  }
  if (!values.steps.length) add('steps', 'Add at least one step: choose an agent.')
  values.steps.forEach((step, index) => {
    if (!step.agent) add(`steps.${index}.agent`, 'Choose an agent for this step.')
    const later = templateError(step.input, index)
    if (later) add(`steps.${index}.input`, later)
  })
  const [invalid, input] = await createWorkflowValidator.tryValidate({
    name: values.name,
    slug: optional(values.slug),
    description: optional(values.description),
    steps: values.steps.map((step) => ({ agent: step.agent, input: optional(step.input) })),
  })
  for (const entry of (invalid?.messages ?? []) as { field: string; message: string }[]) {
    if (entry.field === 'steps' && values.steps.length > 20)
      add('steps', 'A workflow has at most 20 steps.')
    else add(entry.field, entry.message)
  }
  if (errors.length || !input) throw new vineErrors.E_VALIDATION_ERROR(errors)
  return {
    name: input.name,
    slug: input.slug,
    description: input.description ?? null,
    steps: input.steps,
  }
}

/**
 * A refusal's messages by full field path (`steps.1.input`): the exception handler's
 * `fieldErrors` keep only the top-level name, which cannot mark one step's field.
 */
export function workflowFieldErrors(refusal: Refusal): FieldErrors {
  const messages = (refusal.error as { messages?: unknown })?.messages
  if (!Array.isArray(messages)) return refusal.fieldErrors
  const errors: FieldErrors = {}
  for (const entry of messages as { field?: unknown; message?: unknown }[]) {
    if (typeof entry?.field !== 'string' || typeof entry.message !== 'string') continue
    ;(errors[entry.field] ??= []).push(entry.message)
  }
  return errors
}

/** The workspace's agents as the step select's options (value: slug). */
export async function agentOptions(tenantId: string) {
  const agents = await Agent.query()
    .where('tenantId', tenantId)
    .whereNull('deletedAt')
    .orderBy('name')
    .limit(500)
  return agents.map((agent) => ({ value: agent.slug, label: `${agent.name} (${agent.slug})` }))
}

/** The workflow named in the route (`:slug`, id or slug) with its current version, or 404. */
export async function routeWorkflow(ctx: HttpContext) {
  const found = await findWorkflow(currentTenant(ctx).tenant.id, ctx.params.slug)
  if (!found) throw new NotFoundException()
  return found
}

/** Flash key of a refused test run (kept for a browser without JavaScript). */
export const RUN_FLASH_KEY = 'workflowRunForm'

export type RunFormState = { values: { input: string }; errors: FieldErrors | null }

/** Props of agents::components/workflow_run_form (the "Test run" form). */
export function runFormProps(ctx: HttpContext, workflow: Workflow, state: RunFormState) {
  return {
    action: urlFor('agents.web.workflow_runs.store', {
      tenant: currentTenant(ctx).tenant.slug,
      slug: workflow.slug,
    }),
    // One key per rendered form: submitting it twice starts one run.
    idempotencyKey: randomUUID(),
    canRun: can(ctx, 'runs.write'),
    values: state.values,
    errors: state.errors,
  }
}
