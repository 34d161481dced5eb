import type { HttpContext } from '@adonisjs/core/http'
import { keysetPage, pageParams, NotFoundException } from '#core'
import { authorize, assertWritable, currentTenant } from '#tenants'
import Workflow from '#agents/models/workflow'
import WorkflowVersion from '#agents/models/workflow_version'
import { createWorkflowValidator, updateWorkflowValidator } from '#agents/validators/workflows'
import { createWorkflow, deleteWorkflow, updateWorkflow } from '#agents/actions/save_workflow'
import { serializeWorkflow, serializeWorkflowVersion } from '#agents/dtos/workflow'
import { findWorkflow } from '#agents/services/lookup'
import { startApiRun } from '#agents/controllers/api/runs_controller'

/** /api/v1/workflows: CRUD (every save is a new version) and runs. */
export default class WorkflowsController {
  async index(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'agents.read')
    const query = Workflow.query()
      .where('workflows.tenant_id', tenant.id)
      .whereNull('workflows.deleted_at')
    const page = await keysetPage<Workflow>(query, 'workflows', pageParams(ctx))
    return { data: page.rows.map((row) => serializeWorkflow(row)), next_cursor: page.next_cursor }
  }

  async store(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'agents.write')
    assertWritable(ctx)
    const input = await ctx.request.validateUsing(createWorkflowValidator)
    const { workflow, version } = await createWorkflow({
      ...input,
      tenantId: tenant.id,
      actorId: membership.userId,
    })
    ctx.response.header('Location', `/api/v1/workflows/${workflow.id}`)
    return ctx.response.created(serializeWorkflow(workflow, version))
  }

  async show(ctx: HttpContext) {
    const { workflow, version } = await this.#find(ctx, 'agents.read')
    return serializeWorkflow(workflow, version)
  }

  async update(ctx: HttpContext) {
    const { membership } = currentTenant(ctx)
    const { workflow } = await this.#find(ctx, 'agents.write')
    assertWritable(ctx)
    const input = await ctx.request.validateUsing(updateWorkflowValidator)
    const saved = await updateWorkflow(workflow, input, membership.userId)
    return serializeWorkflow(saved.workflow, saved.version)
  }

  async destroy(ctx: HttpContext) {
    const { membership } = currentTenant(ctx)
    const { workflow } = await this.#find(ctx, 'agents.write')
    assertWritable(ctx)
    await deleteWorkflow(workflow, membership.userId)
    return ctx.response.noContent()
  }

  async versions(ctx: HttpContext) {
    const { workflow } = await this.#find(ctx, 'agents.read')
    const versions = await WorkflowVersion.query()
      .where('tenantId', workflow.tenantId)
      .where('workflowId', workflow.id)
      .orderBy('version', 'desc')
    return { data: versions.map(serializeWorkflowVersion), next_cursor: null }
  }

  async run(ctx: HttpContext) {
    const { workflow, version } = await this.#find(ctx, 'runs.write')
    assertWritable(ctx)
    return startApiRun(ctx, { workflow, workflowVersion: version })
  }

  async #find(ctx: HttpContext, permission: 'agents.read' | 'agents.write' | 'runs.write') {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, permission)
    const found = await findWorkflow(tenant.id, ctx.params.idOrSlug)
    if (!found) throw new NotFoundException()
    return found
  }
}
