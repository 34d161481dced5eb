import { isHtmx, NotFoundException, urlFor } from '#core'
import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'
import { userHasTwoFactor, type User } from '#auth'
import { bindTenantReads, cachedMembershipBySlug, cachedTenantsOf } from '#tenants/services/tenancy'

/**
 * Resolves `/t/:tenant/…` (also reached through a tenant subdomain or verified custom domain,
 * see TenantHostMiddleware) for a signed-in member. Non-members get a 404, like a missing tenant;
 * members without two-factor are turned away when the tenant requires it.
 */
export default class TenantMiddleware {
  async handle(ctx: HttpContext, next: NextFn) {
    const user = ctx.auth.user as User
    // From the caches (tenant by slug, membership, switcher): a warm page reads none of them.
    const found = await cachedMembershipBySlug(user.id, String(ctx.params.tenant ?? ''))
    if (!found) throw new NotFoundException()
    if (found.tenant.requireTwoFactor && !userHasTwoFactor(user)) {
      ctx.session.flash(
        'warning',
        `${found.tenant.name} requires two-factor authentication: turn it on for your account to enter the workspace.`
      )
      const setupUrl = `${urlFor('auth.account.show')}#two-factor`
      if (isHtmx(ctx)) return ctx.response.header('HX-Redirect', setupUrl).status(204).send('')
      return ctx.response.redirect(setupUrl)
    }
    ctx.tenant = found.tenant
    ctx.membership = found.membership
    ctx.view.share({
      tenant: found.tenant,
      membership: found.membership,
      tenants: await cachedTenantsOf(user.id),
    })
    return bindTenantReads(ctx, next)
  }
}
