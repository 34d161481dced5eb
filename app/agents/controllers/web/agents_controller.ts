import type { HttpContext } from '@adonisjs/core/http'
import { isHtmx, keysetPage, onRefusal, pageParams, urlFor } from '#core'
import { assertWritable, authorize, currentTenant } from '#tenants'
import Agent from '#agents/models/agent'
import AgentVersion from '#agents/models/agent_version'
import Run from '#agents/models/run'
import { handoffSlug } from '#agents/services/agent_runtime'
import { isBuiltinTool } from '#agents/tools/builtin'
import { createAgent, deleteAgent, updateAgent } from '#agents/actions/save_agent'
import {
  blankValues,
  builtinToolOptions,
  formValues,
  functionNames,
  handoffOptions,
  modelOptions,
  unmanagedTools,
  validateAgentForm,
  valuesOf,
  type AgentFormValues,
  type FieldErrors,
} from '#agents/controllers/web/agent_form'
import {
  can,
  flashFormState,
  localTime,
  pageUrl,
  redirectTo,
  routeAgent,
} from '#agents/controllers/web/helpers'

const FLASH_KEY = 'agentForm'

type FormState = { values: AgentFormValues; errors: FieldErrors | null }

/**
 * The form state a redirect carried: ours, or the edge's refusal (input hygiene: the exception
 * handler flashed the input and `inputErrorsBag`, keyed by top-level field).
 */
function flashedState(ctx: HttpContext): FormState | undefined {
  const flash = ctx.session.flashMessages
  const ours = flash.get(FLASH_KEY) as FormState | undefined
  if (ours) return ours
  const errors = flash.get('inputErrorsBag') as FieldErrors | undefined
  if (!errors || !Object.keys(errors).length) return undefined
  return { values: formValues(flash.all()), errors }
}

/** /t/:tenant/agents: list, create, show, edit, delete (every save is a new version). */
export default class AgentsController {
  async index(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'agents.read')
    const query = Agent.query().where('agents.tenant_id', tenant.id).whereNull('agents.deleted_at')
    const params = pageParams(ctx, { forgiving: true })
    const page = await keysetPage<Agent>(query, 'agents', params)
    const versions = page.rows.length
      ? await AgentVersion.query()
          .where('tenantId', tenant.id)
          .whereIn(
            'agentId',
            page.rows.map((agent) => agent.id)
          )
      : []
    const modelOf = new Map(versions.map((v) => [`${v.agentId}:${v.version}`, v.model]))
    const rows = page.rows.map((agent) => ({
      agent,
      model: modelOf.get(`${agent.id}:${agent.currentVersion}`) ?? '',
      updated: localTime(ctx, agent.updatedAt),
    }))
    return ctx.view.render('agents::pages/index', {
      rows,
      nextUrl: page.next_cursor ? pageUrl(ctx, page.next_cursor) : null,
      firstUrl: params.cursor ? pageUrl(ctx, null) : null,
      canWrite: can(ctx, 'agents.write'),
      canManage: can(ctx, 'tenant.update'),
    })
  }

  async create(ctx: HttpContext) {
    authorize(ctx, 'agents.write')
    return this.#renderForm(ctx, null, flashedState(ctx) ?? { values: blankValues(), errors: null })
  }

  async store(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'agents.write')
    assertWritable(ctx)
    const values = formValues(ctx.request.all())
    onRefusal(ctx, {
      render: ({ fieldErrors }) =>
        this.#invalid(
          ctx,
          null,
          { values, errors: fieldErrors },
          urlFor('agents.web.agents.create', { tenant: tenant.slug })
        ),
    })
    const input = await validateAgentForm(values)
    const { agent } = await createAgent({
      ...input,
      tenantId: tenant.id,
      actorId: membership.userId,
    })
    ctx.session.flash('success', `Agent "${agent.name}" created.`)
    return redirectTo(
      ctx,
      urlFor('agents.web.agents.show', { tenant: tenant.slug, slug: agent.slug })
    )
  }

  async show(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'agents.read')
    const agent = await routeAgent(ctx)
    const version = await this.#currentVersion(agent)
    const runs = await Run.query()
      .where('tenantId', tenant.id)
      .where('agentId', agent.id)
      .orderBy('createdAt', 'desc')
      .orderBy('id', 'desc')
      .limit(5)
    const handoffs = version.tools.map(handoffSlug).filter((slug) => slug !== null)
    const targets = handoffs.length
      ? await Agent.query()
          .where('tenantId', tenant.id)
          .whereIn('slug', handoffs)
          .whereNull('deletedAt')
      : []
    return ctx.view.render('agents::pages/show', {
      agent,
      version,
      builtins: version.tools.filter((tool) => typeof tool === 'string' && isBuiltinTool(tool)),
      handoffs: handoffs.map((slug) => ({
        slug,
        name: targets.find((target) => target.slug === slug)?.name ?? null,
      })),
      functions: functionNames(version.tools),
      updated: localTime(ctx, agent.updatedAt),
      runs: runs.map((run) => ({ run, created: localTime(ctx, run.createdAt) })),
      canWrite: can(ctx, 'agents.write'),
    })
  }

  async edit(ctx: HttpContext) {
    authorize(ctx, 'agents.write')
    const agent = await routeAgent(ctx)
    const version = await this.#currentVersion(agent)
    return this.#renderForm(
      ctx,
      agent,
      flashedState(ctx) ?? { values: valuesOf(agent, version), errors: null }
    )
  }

  async update(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'agents.write')
    assertWritable(ctx)
    const agent = await routeAgent(ctx)
    const values = formValues(ctx.request.all())
    const formUrl = urlFor('agents.web.agents.edit', { tenant: tenant.slug, slug: agent.slug })
    onRefusal(ctx, {
      render: ({ fieldErrors }) =>
        this.#invalid(ctx, agent, { values, errors: fieldErrors }, formUrl),
    })
    const input = await validateAgentForm(values)
    // The form manages built-ins and handoffs; function definitions set through the API stay.
    const current = await this.#currentVersion(agent)
    const saved = await updateAgent(
      agent,
      {
        ...input,
        slug: input.slug ?? agent.slug,
        tools: [...input.tools, ...unmanagedTools(current.tools)],
      },
      membership.userId
    )
    ctx.session.flash('success', `Saved as version ${saved.version.version}.`)
    return redirectTo(
      ctx,
      urlFor('agents.web.agents.show', { tenant: tenant.slug, slug: saved.agent.slug })
    )
  }

  async destroy(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'agents.write')
    assertWritable(ctx)
    const agent = await routeAgent(ctx)
    await deleteAgent(agent, membership.userId)
    ctx.session.flash('success', `Agent "${agent.name}" deleted. Its runs stay in the history.`)
    return redirectTo(ctx, urlFor('agents.web.agents.index', { tenant: tenant.slug }))
  }

  /**
   * A rejected form: htmx gets the form fragment alone (422, swapped in place); a browser without
   * JavaScript is sent back to the form with its state flashed, or gets the page re-rendered
   * (422) when that state is too large for the session cookie.
   */
  async #invalid(ctx: HttpContext, agent: Agent | null, state: FormState, formUrl: string) {
    if (isHtmx(ctx)) {
      return ctx.response
        .status(422)
        .send(
          await ctx.view.render(
            'agents::components/agent_form',
            await this.#formProps(ctx, agent, state)
          )
        )
    }
    if (flashFormState(ctx, FLASH_KEY, state)) return ctx.response.redirect(formUrl)
    ctx.response.status(422)
    return this.#renderForm(ctx, agent, state)
  }

  async #renderForm(ctx: HttpContext, agent: Agent | null, state: FormState) {
    return ctx.view.render(agent ? 'agents::pages/edit' : 'agents::pages/new', {
      agent,
      ...(await this.#formProps(ctx, agent, state)),
    })
  }

  #currentVersion(agent: Agent) {
    return AgentVersion.query()
      .where('tenantId', agent.tenantId)
      .where('agentId', agent.id)
      .where('version', agent.currentVersion)
      .firstOrFail()
  }

  async #formProps(ctx: HttpContext, agent: Agent | null, state: FormState) {
    const { tenant } = currentTenant(ctx)
    const index = urlFor('agents.web.agents.index', { tenant: tenant.slug })
    const params = agent ? { tenant: tenant.slug, slug: agent.slug } : null
    return {
      action: params
        ? urlFor('agents.web.agents.update', params, { qs: { _method: 'PUT' } })
        : urlFor('agents.web.agents.store', { tenant: tenant.slug }),
      submitLabel: agent ? 'Save as new version' : 'Create agent',
      cancelUrl: params ? urlFor('agents.web.agents.show', params) : index,
      models: await modelOptions(currentTenant(ctx).tenant.id),
      tools: builtinToolOptions(),
      handoffAgents: await handoffOptions(tenant.id, agent?.id ?? null, state.values.handoffs),
      apiFunctions: agent ? functionNames((await this.#currentVersion(agent)).tools) : [],
      values: state.values,
      errors: state.errors,
    }
  }
}
