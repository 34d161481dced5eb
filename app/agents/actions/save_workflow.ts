import { recordAudit } from '#platform'
import { assertSlugAllowed, slugTaken } from '#agents/services/slugs'
import { InvalidInputException } from '#core'
import { slugify, withTenant } from '#tenants'
import Workflow from '#agents/models/workflow'
import WorkflowVersion, { type WorkflowStep } from '#agents/models/workflow_version'
import { agentForRun } from '#agents/services/agent_cache'
import { templateError } from '#agents/services/workflow_template'

type StepInput = { agent: string; input?: string }

/**
 * The steps as stored: every agent exists in the workspace, every template refers only to the
 * workflow input and earlier steps; a missing template takes the previous output.
 */
async function checkedSteps(tenantId: string, steps: StepInput[]): Promise<WorkflowStep[]> {
  const out: WorkflowStep[] = []
  for (const [index, step] of steps.entries()) {
    if (!(await agentForRun(tenantId, step.agent)))
      throw new InvalidInputException(
        `steps.${index}.agent`,
        `No agent "${step.agent}" in this workspace.`
      )
    const input = step.input ?? (index === 0 ? '{{input}}' : `{{steps.${index}.output}}`)
    const refused = templateError(input, index)
    if (refused) throw new InvalidInputException(`steps.${index}.input`, refused)
    out.push({ agent: step.agent, input })
  }
  return out
}

const SLUG_TAKEN = 'This slug is already used by another workflow.'

/** Creates a workflow and its version 1. */
export async function createWorkflow(input: {
  tenantId: string
  actorId: string | null
  name: string
  slug?: string
  description?: string | null
  steps: StepInput[]
}) {
  const steps = await checkedSteps(input.tenantId, input.steps)
  const slug = input.slug ?? slugify(input.name)
  assertSlugAllowed(slug)
  try {
    return await withTenant(input.tenantId, async (trx) => {
      if (await slugTaken(trx, 'workflows', input.tenantId, slug))
        throw new InvalidInputException('slug', SLUG_TAKEN)
      const workflow = await Workflow.create(
        {
          tenantId: input.tenantId,
          slug,
          name: input.name,
          description: input.description ?? null,
          currentVersion: 1,
          createdBy: input.actorId,
        },
        { client: trx }
      )
      const version = await WorkflowVersion.create(
        {
          tenantId: input.tenantId,
          workflowId: workflow.id,
          version: 1,
          steps,
          createdBy: input.actorId,
        },
        { client: trx }
      )
      await recordAudit(
        {
          action: 'agents.workflow.created',
          actorId: input.actorId,
          tenantId: input.tenantId,
          subjectType: 'workflow',
          subjectId: workflow.id,
          changes: { slug, steps: steps.length },
        },
        trx
      )
      return { workflow, version }
    })
  } catch (error: any) {
    if (error?.code === '23505') throw new InvalidInputException('slug', SLUG_TAKEN)
    throw error
  }
}

/** Updates a workflow; every save is a new immutable version (steps from the input or the current ones). */
export async function updateWorkflow(
  workflow: Workflow,
  input: { name?: string; slug?: string; description?: string | null; steps?: StepInput[] },
  actorId: string | null
) {
  const steps = input.steps ? await checkedSteps(workflow.tenantId, input.steps) : null
  if (input.slug && input.slug !== workflow.slug) assertSlugAllowed(input.slug)
  try {
    return await withTenant(workflow.tenantId, async (trx) => {
      const locked = await Workflow.query({ client: trx })
        .where('id', workflow.id)
        .whereNull('deletedAt')
        .forUpdate()
        .firstOrFail()
      const current = await WorkflowVersion.query({ client: trx })
        .where('workflowId', locked.id)
        .where('version', locked.currentVersion)
        .firstOrFail()
      if (
        input.slug &&
        input.slug !== locked.slug &&
        (await slugTaken(trx, 'workflows', locked.tenantId, input.slug, locked.id))
      )
        throw new InvalidInputException('slug', SLUG_TAKEN)
      locked.merge({
        name: input.name ?? locked.name,
        slug: input.slug ?? locked.slug,
        description: input.description !== undefined ? input.description : locked.description,
        currentVersion: locked.currentVersion + 1,
      })
      await locked.save()
      const version = await WorkflowVersion.create(
        {
          tenantId: locked.tenantId,
          workflowId: locked.id,
          version: locked.currentVersion,
          steps: steps ?? current.steps,
          createdBy: actorId,
        },
        { client: trx }
      )
      await recordAudit(
        {
          action: 'agents.workflow.updated',
          actorId,
          tenantId: locked.tenantId,
          subjectType: 'workflow',
          subjectId: locked.id,
          changes: { version: locked.currentVersion },
        },
        trx
      )
      return { workflow: locked, version }
    })
  } catch (error: any) {
    if (error?.code === '23505') throw new InvalidInputException('slug', SLUG_TAKEN)
    throw error
  }
}

/** Soft-deletes a workflow (its runs stay for history and billing); the slug becomes free. */
export async function deleteWorkflow(workflow: Workflow, actorId: string | null) {
  await withTenant(workflow.tenantId, async (trx) => {
    await trx
      .from('workflows')
      .where('id', workflow.id)
      .whereNull('deleted_at')
      .update({ deleted_at: new Date() })
    await recordAudit(
      {
        action: 'agents.workflow.deleted',
        actorId,
        tenantId: workflow.tenantId,
        subjectType: 'workflow',
        subjectId: workflow.id,
      },
      trx
    )
  })
}
