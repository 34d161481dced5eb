import type { HttpContext } from '@adonisjs/core/http'
import { isHtmx, keysetPage, onRefusal, pageParams, urlFor } from '#core'
import { assertWritable, authorize, currentTenant } from '#tenants'
import Workflow from '#agents/models/workflow'
import WorkflowVersion from '#agents/models/workflow_version'
import Run from '#agents/models/run'
import { createWorkflow, deleteWorkflow, updateWorkflow } from '#agents/actions/save_workflow'
import {
  agentOptions,
  blankWorkflowValues,
  routeWorkflow,
  runFormProps,
  RUN_FLASH_KEY,
  validateWorkflowForm,
  workflowFieldErrors,
  workflowFormValues,
  workflowValuesOf,
  type RunFormState,
  type WorkflowFormState,
} from '#agents/controllers/web/workflow_form'
import type { FieldErrors } from '#agents/controllers/web/agent_form'
import {
  can,
  flashFormState,
  localTime,
  pageUrl,
  redirectTo,
} from '#agents/controllers/web/helpers'

const FLASH_KEY = 'workflowForm'
type Found = { workflow: Workflow; version: WorkflowVersion }

/**
 * The builder's state a redirect carried: ours, or the edge's refusal (input hygiene: the
 * exception handler flashed the input and `inputErrorsBag`, keyed by top-level field).
 */
function flashedState(ctx: HttpContext): WorkflowFormState | undefined {
  const flash = ctx.session.flashMessages
  const ours = flash.get(FLASH_KEY) as WorkflowFormState | undefined
  if (ours) return ours
  const errors = flash.get('inputErrorsBag') as FieldErrors | undefined
  if (!errors || !Object.keys(errors).length) return undefined
  return { values: workflowFormValues(flash.all()), errors }
}

/** /t/:tenant/workflows: list, build (create), show + edit (every save is a new version), delete. */
export default class WorkflowsController {
  async index(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'agents.read')
    const query = Workflow.query()
      .where('workflows.tenant_id', tenant.id)
      .whereNull('workflows.deleted_at')
    const params = pageParams(ctx, { forgiving: true })
    const page = await keysetPage<Workflow>(query, 'workflows', params)
    const versions = page.rows.length
      ? await WorkflowVersion.query()
          .where('tenantId', tenant.id)
          .whereIn(
            'workflowId',
            page.rows.map((workflow) => workflow.id)
          )
      : []
    const stepsOf = new Map(versions.map((v) => [`${v.workflowId}:${v.version}`, v.steps]))
    return ctx.view.render('agents::pages/workflows', {
      rows: page.rows.map((workflow) => ({
        workflow,
        steps: stepsOf.get(`${workflow.id}:${workflow.currentVersion}`) ?? [],
        updated: localTime(ctx, workflow.updatedAt),
      })),
      nextUrl: page.next_cursor ? pageUrl(ctx, page.next_cursor) : null,
      firstUrl: params.cursor ? pageUrl(ctx, null) : null,
      canWrite: can(ctx, 'agents.write'),
    })
  }

  async create(ctx: HttpContext) {
    authorize(ctx, 'agents.write')
    const state = flashedState(ctx) ?? { values: blankWorkflowValues(), errors: null }
    return ctx.view.render('agents::pages/workflow_new', await this.#formProps(ctx, null, state))
  }

  async store(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'agents.write')
    assertWritable(ctx)
    const values = workflowFormValues(ctx.request.all())
    onRefusal(ctx, {
      render: (refusal) =>
        this.#invalid(
          ctx,
          null,
          { values, errors: workflowFieldErrors(refusal) },
          urlFor('agents.web.workflows.create', { tenant: tenant.slug })
        ),
    })
    const input = await validateWorkflowForm(values)
    const { workflow } = await createWorkflow({
      ...input,
      tenantId: tenant.id,
      actorId: membership.userId,
    })
    ctx.session.flash('success', `Workflow "${workflow.name}" created.`)
    return redirectTo(
      ctx,
      urlFor('agents.web.workflows.show', { tenant: tenant.slug, slug: workflow.slug })
    )
  }

  async show(ctx: HttpContext) {
    authorize(ctx, 'agents.read')
    const found = await routeWorkflow(ctx)
    const state = flashedState(ctx) ?? {
      values: workflowValuesOf(found.workflow, found.version),
      errors: null,
    }
    return this.#renderShow(ctx, found, state)
  }

  async update(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'agents.write')
    assertWritable(ctx)
    const found = await routeWorkflow(ctx)
    const values = workflowFormValues(ctx.request.all())
    const showUrl = urlFor('agents.web.workflows.show', {
      tenant: tenant.slug,
      slug: found.workflow.slug,
    })
    onRefusal(ctx, {
      render: (refusal) =>
        this.#invalid(ctx, found, { values, errors: workflowFieldErrors(refusal) }, showUrl),
    })
    const input = await validateWorkflowForm(values)
    const saved = await updateWorkflow(
      found.workflow,
      { ...input, slug: input.slug ?? found.workflow.slug },
      membership.userId
    )
    ctx.session.flash('success', `Saved as version ${saved.version.version}.`)
    return redirectTo(
      ctx,
      urlFor('agents.web.workflows.show', { tenant: tenant.slug, slug: saved.workflow.slug })
    )
  }

  async destroy(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'agents.write')
    assertWritable(ctx)
    const { workflow } = await routeWorkflow(ctx)
    await deleteWorkflow(workflow, membership.userId)
    ctx.session.flash(
      'success',
      `Workflow "${workflow.name}" deleted. Its runs stay in the history.`
    )
    return redirectTo(ctx, urlFor('agents.web.workflows.index', { tenant: tenant.slug }))
  }

  /**
   * A rejected builder: htmx gets the form fragment alone (422, swapped in place); a browser
   * without JavaScript is sent back with its state flashed, or gets the page re-rendered (422)
   * when that state is too large for the session cookie.
   */
  async #invalid(ctx: HttpContext, found: Found | null, state: WorkflowFormState, url: string) {
    if (isHtmx(ctx)) {
      const props = await this.#formProps(ctx, found, state)
      return ctx.response
        .status(422)
        .send(await ctx.view.render('agents::components/workflow_form', props.form))
    }
    if (flashFormState(ctx, FLASH_KEY, state)) return ctx.response.redirect(url)
    ctx.response.status(422)
    return found
      ? this.#renderShow(ctx, found, state)
      : ctx.view.render('agents::pages/workflow_new', await this.#formProps(ctx, null, state))
  }

  async #renderShow(ctx: HttpContext, found: Found, state: WorkflowFormState) {
    const { tenant } = currentTenant(ctx)
    const { workflow, version } = found
    const runs = await Run.query()
      .where('tenantId', tenant.id)
      .where('workflowId', workflow.id)
      .orderBy('createdAt', 'desc')
      .orderBy('id', 'desc')
      .limit(5)
    const flashedRun = ctx.session.flashMessages.get(RUN_FLASH_KEY) as RunFormState | undefined
    return ctx.view.render('agents::pages/workflow', {
      ...(await this.#formProps(ctx, found, state)),
      version,
      updated: localTime(ctx, workflow.updatedAt),
      runs: runs.map((run) => ({ run, created: localTime(ctx, run.createdAt) })),
      runForm: runFormProps(ctx, workflow, flashedRun ?? { values: { input: '' }, errors: null }),
    })
  }

  async #formProps(ctx: HttpContext, found: Found | null, state: WorkflowFormState) {
    const { tenant } = currentTenant(ctx)
    const params = found ? { tenant: tenant.slug, slug: found.workflow.slug } : null
    return {
      workflow: found?.workflow ?? null,
      canWrite: can(ctx, 'agents.write'),
      form: {
        action: params
          ? urlFor('agents.web.workflows.update', params, { qs: { _method: 'PUT' } })
          : urlFor('agents.web.workflows.store', { tenant: tenant.slug }),
        submitLabel: found ? 'Save as new version' : 'Create workflow',
        cancelUrl: params
          ? urlFor('agents.web.workflows.show', params)
          : urlFor('agents.web.workflows.index', { tenant: tenant.slug }),
        agents: await agentOptions(tenant.id),
        values: state.values,
        errors: state.errors,
      },
    }
  }
}
