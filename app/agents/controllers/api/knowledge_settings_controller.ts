import type { HttpContext } from '@adonisjs/core/http'
import { assertWritable, authorize, currentTenant } from '#tenants'
import { knowledgeSettingsValidator } from '#agents/validators/knowledge'
import { knowledgeSettingsJson, saveKnowledgeSettings } from '#agents/actions/knowledge_settings'

/**
 * /api/v1/knowledge/settings: the model that embeds the workspace's documents. Owners and admins
 * change it (re-embedding every document costs credits with a priced model).
 */
export default class KnowledgeSettingsController {
  async show(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'agents.read')
    return knowledgeSettingsJson(tenant.id)
  }

  async update(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    // The token needs agents:write; the role, owner or admin.
    authorize(ctx, 'agents.write')
    authorize(ctx, 'tenant.update')
    assertWritable(ctx)
    const input = await ctx.request.validateUsing(knowledgeSettingsValidator)
    const saved = await saveKnowledgeSettings({
      tenantId: tenant.id,
      actorId: membership.userId,
      embeddingModel: input.embedding_model,
    })
    return { ...(await knowledgeSettingsJson(tenant.id)), reindexing: saved.reindexing }
  }
}
