import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'
import type { User } from '#auth'
import { membershipFor, tenantsOf } from '#tenants/services/tenancy'

/**
 * Resolves `/t/:tenant/…` (also reached through a tenant subdomain or verified custom domain,
 * see TenantHostMiddleware) for a signed-in member. Non-members get a 404, like a missing tenant.
 */
export default class TenantMiddleware {
  async handle(ctx: HttpContext, next: NextFn) {
    const user = ctx.auth.user as User
    const found = await membershipFor(user.id, { slug: String(ctx.params.tenant ?? '') })
    if (!found) return ctx.response.notFound(await ctx.view.render('errors/not_found', { status: 404, title: 'Not found', detail: 'Nothing exists at this address.' }))
    ctx.tenant = found.tenant
    ctx.membership = found.membership
    ctx.view.share({ tenant: found.tenant, membership: found.membership, tenants: await tenantsOf(user.id) })
    return next()
  }
}
