import type { HttpContext } from '@adonisjs/core/http'
import db from '@adonisjs/lucid/services/db'
import { escapeHtml } from '#core'
import { authorize, currentTenant } from '#tenants'

/**
 * GET /t/:tenant/agents/options?agent=<typed>&field=<datalist id>: up to 10 agents whose slug or
 * name contains what was typed, as a <datalist> (htmx swaps it in): agent pickers ask as the user
 * types instead of listing every agent with the page.
 */
export default class AgentOptionsController {
  async index(ctx: HttpContext) {
    authorize(ctx, 'agents.read')
    const { tenant } = currentTenant(ctx)
    const typed = String(ctx.request.input('agent') ?? ctx.request.input('q') ?? '')
      .trim()
      .slice(0, 100)
    const field = String(ctx.request.input('field') ?? 'agent-options')
    const id = /^[a-z][a-z0-9-]{0,60}$/.test(field) ? field : 'agent-options'
    const like = `%${typed.replace(/[%_\\]/g, '\\$&')}%`
    const rows = typed
      ? await db
          .from('agents')
          .where('tenant_id', tenant.id)
          .whereNull('deleted_at')
          .where((q) => q.whereILike('slug', like).orWhereILike('name', like))
          .orderByRaw('length(slug), slug')
          .limit(10)
          .select('slug', 'name')
      : []
    const options = rows
      .map((row) => `<option value="${escapeHtml(row.slug)}">${escapeHtml(row.name)}</option>`)
      .join('')
    return ctx.response
      .header('content-type', 'text/html; charset=utf-8')
      .send(`<datalist id="${id}">${options}</datalist>`)
  }
}
