import type { HttpContext } from '@adonisjs/core/http'
import { assertWritable, authorize, currentTenant } from '#tenants'
import { toolSettingsValidator } from '#agents/validators/tools'
import { saveToolSettings, toolSettingsJson } from '#agents/actions/save_tool_settings'

/** /api/v1/tool-settings: the workspace's http_request allow-list (owners and admins change it). */
export default class ToolSettingsController {
  async show(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'agents.read')
    return toolSettingsJson(tenant.id)
  }

  async update(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    // The token needs agents:write; the role, owner or admin.
    authorize(ctx, 'agents.write')
    authorize(ctx, 'tenant.update')
    assertWritable(ctx)
    const input = await ctx.request.validateUsing(toolSettingsValidator)
    const hosts = await saveToolSettings({
      tenantId: tenant.id,
      actorId: membership.userId,
      httpAllowedHosts: input.http_allowed_hosts,
    })
    return { http_allowed_hosts: hosts }
  }
}
