import type { HttpContext } from '@adonisjs/core/http'
import { keysetPage, pageParams, NotFoundException } from '#core'
import { authorize, assertWritable, currentTenant } from '#tenants'
import Agent from '#agents/models/agent'
import AgentVersion from '#agents/models/agent_version'
import { createAgentValidator, updateAgentValidator } from '#agents/validators/agents'
import { createAgent, deleteAgent, updateAgent } from '#agents/actions/save_agent'
import { serializeAgent, serializeVersion } from '#agents/dtos/agent'
import { findAgent } from '#agents/services/lookup'

/** /api/v1/agents: CRUD; every update is a new version. */
export default class AgentsController {
  async index(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'agents.read')
    const query = Agent.query().where('agents.tenant_id', tenant.id).whereNull('agents.deleted_at')
    const page = await keysetPage<Agent>(query, 'agents', pageParams(ctx))
    return { data: page.rows.map((agent) => serializeAgent(agent)), next_cursor: page.next_cursor }
  }

  async store(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'agents.write')
    assertWritable(ctx)
    const input = await ctx.request.validateUsing(createAgentValidator)
    const { agent, version } = await createAgent({
      ...input,
      tenantId: tenant.id,
      actorId: membership.userId,
    })
    ctx.response.header('Location', `/api/v1/agents/${agent.id}`)
    return ctx.response.created(serializeAgent(agent, version))
  }

  async show(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'agents.read')
    const agent = await findAgent(tenant.id, ctx.params.idOrSlug)
    if (!agent) throw new NotFoundException()
    const version = await AgentVersion.query()
      .where('agentId', agent.id)
      .where('version', agent.currentVersion)
      .firstOrFail()
    return serializeAgent(agent, version)
  }

  async update(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'agents.write')
    assertWritable(ctx)
    const agent = await findAgent(tenant.id, ctx.params.idOrSlug)
    if (!agent) throw new NotFoundException()
    const input = await ctx.request.validateUsing(updateAgentValidator)
    const saved = await updateAgent(agent, input, membership.userId)
    return serializeAgent(saved.agent, saved.version)
  }

  async destroy(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'agents.write')
    assertWritable(ctx)
    const agent = await findAgent(tenant.id, ctx.params.idOrSlug)
    if (!agent) throw new NotFoundException()
    await deleteAgent(agent, membership.userId)
    return ctx.response.noContent()
  }

  async versions(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'agents.read')
    const agent = await findAgent(tenant.id, ctx.params.idOrSlug)
    if (!agent) throw new NotFoundException()
    const versions = await AgentVersion.query()
      .where('tenantId', tenant.id)
      .where('agentId', agent.id)
      .orderBy('version', 'desc')
    return { data: versions.map(serializeVersion), next_cursor: null }
  }
}
