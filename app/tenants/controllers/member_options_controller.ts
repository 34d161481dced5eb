import type { HttpContext } from '@adonisjs/core/http'
import { escapeHtml } from '#core'
import { usersMatching } from '#auth'
import { authorize, currentTenant, scoped } from '#tenants/services/tenancy'
import Membership from '#tenants/models/membership'

/**
 * GET /t/:tenant/members/options?member=<typed> (or email=, q=)&field=<datalist id>: up to 10 members whose
 * email or name contains what was typed, as a <datalist> (htmx swaps it in): member pickers ask
 * as the user types instead of loading every member with the page.
 */
export default class MemberOptionsController {
  async index(ctx: HttpContext) {
    authorize(ctx, 'members.read')
    const { tenant } = currentTenant(ctx)
    const typed = String(
      ctx.request.input('member') ?? ctx.request.input('email') ?? ctx.request.input('q') ?? ''
    )
      .trim()
      .slice(0, 100)
    const field = String(ctx.request.input('field') ?? 'member-options')
    const id = /^[a-z][a-z0-9-]{0,60}$/.test(field) ? field : 'member-options'
    const rows = typed
      ? await usersMatching(typed, scoped(tenant, Membership).select('memberships.user_id'))
      : []
    const options = rows
      .map((row) => {
        const email = escapeHtml(row.email)
        const name = escapeHtml(row.name ?? '')
        return `<option value="${email}">${name}</option>`
      })
      .join('')
    return ctx.response
      .header('content-type', 'text/html; charset=utf-8')
      .send(`<datalist id="${id}">${options}</datalist>`)
  }
}
