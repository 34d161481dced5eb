import type { HttpContext } from '@adonisjs/core/http'
import { NotFoundException, onRefusal, urlFor } from '#core'
import { assertWritable, authorize, currentTenant } from '#tenants'
import AgentVersion from '#agents/models/agent_version'
import { updateAgent } from '#agents/actions/save_agent'
import { serializeVersion } from '#agents/dtos/agent'
import { changedFields, lineDiff } from '#agents/controllers/web/version_diff'
import { can, localTime, routeAgent } from '#agents/controllers/web/helpers'

/** /t/:tenant/agents/:slug/versions: history, one version against the previous one, restore. */
export default class VersionsController {
  async index(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'agents.read')
    const agent = await routeAgent(ctx)
    const versions = await AgentVersion.query()
      .where('tenantId', tenant.id)
      .where('agentId', agent.id)
      .orderBy('version', 'desc')
      .limit(500)
    return ctx.view.render('agents::pages/versions', {
      agent,
      versions: versions.map((version) => ({
        version,
        created: localTime(ctx, version.createdAt),
      })),
      canWrite: can(ctx, 'agents.write'),
    })
  }

  async show(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'agents.read')
    const agent = await routeAgent(ctx)
    const version = await this.#version(ctx, agent.id)
    const previous = await AgentVersion.query()
      .where('tenantId', tenant.id)
      .where('agentId', agent.id)
      .where('version', '<', version.version)
      .orderBy('version', 'desc')
      .first()
    return ctx.view.render('agents::pages/version', {
      agent,
      version,
      previous,
      created: localTime(ctx, version.createdAt),
      fields: changedFields(previous, version),
      diff: lineDiff(previous?.instructions ?? '', version.instructions),
      canWrite: can(ctx, 'agents.write'),
    })
  }

  /** Restoring writes a NEW version with the old one's configuration; history is never rewritten. */
  async restore(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'agents.write')
    assertWritable(ctx)
    const agent = await routeAgent(ctx)
    const version = await this.#version(ctx, agent.id)
    const versionsUrl = urlFor('agents.web.versions.index', {
      tenant: tenant.slug,
      slug: agent.slug,
    })
    onRefusal(ctx, {
      render: ({ message }) => {
        ctx.session.flash('error', `Version ${version.version} cannot be restored: ${message}`)
        return ctx.response.redirect(versionsUrl)
      },
    })
    const { version: _number, created_at: _createdAt, ...config } = serializeVersion(version)
    const saved = await updateAgent(agent, config, membership.userId)
    ctx.session.flash(
      'success',
      `Version ${version.version} restored as version ${saved.version.version}.`
    )
    return ctx.response.redirect(versionsUrl)
  }

  async #version(ctx: HttpContext, agentId: string) {
    const { tenant } = currentTenant(ctx)
    const number = Number(ctx.params.version)
    const version =
      Number.isInteger(number) && number > 0 && number < 2 ** 31
        ? await AgentVersion.query()
            .where('tenantId', tenant.id)
            .where('agentId', agentId)
            .where('version', number)
            .first()
        : null
    if (!version) throw new NotFoundException()
    return version
  }
}
