import type { HttpContext } from '@adonisjs/core/http'
import { InvalidInputException, onRefusal, urlFor } from '#core'
import { assertWritable, authorize, currentTenant } from '#tenants'
import { MAX_ALLOWED_HOSTS, saveToolSettings } from '#agents/actions/save_tool_settings'
import { allowedHosts } from '#agents/services/tool_settings'
import { BUILTIN_TOOL_NAMES, BUILTIN_TOOL_SUMMARIES } from '#agents/tools/builtin'
import { toolPrivateNetworksAllowed } from '#agents/tools/http_request'
import { can, redirectTo } from '#agents/controllers/web/helpers'

type FormState = { hosts: string; errors: Record<string, string[]> }

/**
 * /t/:tenant/tools — the built-in tools and the hosts http_request may reach. Every member may
 * read it (it explains what agents can do); owners and admins change it (tenant.update).
 */
export default class ToolSettingsController {
  async show(ctx: HttpContext) {
    authorize(ctx, 'agents.read')
    return this.#render(ctx, null)
  }

  async update(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'tenant.update')
    assertWritable(ctx)
    const raw = ctx.request.input('http_allowed_hosts')
    const text = typeof raw === 'string' ? raw : ''
    onRefusal(ctx, {
      render: ({ fieldErrors, error }) => {
        // The action names the entry by index; in a textarea that is a line number.
        const field = error instanceof InvalidInputException ? (error.field ?? '') : ''
        const line = /^http_allowed_hosts\.(\d+)$/.exec(field)
        const errors = line
          ? { http_allowed_hosts: [`Line ${Number(line[1]) + 1}: ${(error as Error).message}`] }
          : fieldErrors
        return this.#render(ctx, { hosts: text, errors })
      },
    })
    // One host per line; blank lines stay in so an error's index is the line number - 1.
    const hosts = await saveToolSettings({
      tenantId: tenant.id,
      actorId: membership.userId,
      httpAllowedHosts: text.split(/\r?\n/),
    })
    ctx.session.flash(
      'success',
      hosts.length
        ? `Saved: http_request may reach ${hosts.length} ${hosts.length === 1 ? 'host' : 'hosts'}.`
        : 'Saved: http_request may reach no host.'
    )
    return redirectTo(ctx, urlFor('agents.web.tool_settings.show', { tenant: tenant.slug }))
  }

  async #render(ctx: HttpContext, form: FormState | null) {
    const { tenant } = currentTenant(ctx)
    const hosts = form ? null : await allowedHosts(tenant.id)
    return ctx.view.render('agents::pages/tool_settings', {
      tools: BUILTIN_TOOL_NAMES.map((name) => ({ name, summary: BUILTIN_TOOL_SUMMARIES[name] })),
      hosts: form ? form.hosts : hosts!.join('\n'),
      hostCount: hosts?.length ?? null,
      errors: form?.errors ?? {},
      canManage: can(ctx, 'tenant.update'),
      maxHosts: MAX_ALLOWED_HOSTS,
      privateNetworksAllowed: toolPrivateNetworksAllowed(),
    })
  }
}
