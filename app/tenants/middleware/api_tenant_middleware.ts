import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'
import { errors } from '@adonisjs/auth'
import { ForbiddenException, tokenTenantId, userHasTwoFactor, type User } from '#auth'
import { bindTenantReads, cachedMembershipFor } from '#tenants/services/tenancy'

/**
 * API requests act in the tenant their token was issued for. A token whose user is no longer
 * a member (removal also deletes such tokens) or that is bound to no tenant gets 401; a member
 * without two-factor in a tenant that requires it gets 403.
 */
export default class ApiTenantMiddleware {
  async handle(ctx: HttpContext, next: NextFn) {
    const guard = ctx.auth.use('api')
    const user = guard.user as User
    const tenantId = tokenTenantId(ctx)
    const found = tenantId ? await cachedMembershipFor(user.id, tenantId) : null
    if (!found) {
      throw new errors.E_UNAUTHORIZED_ACCESS(
        'This token is not valid for any workspace you belong to.',
        { guardDriverName: 'access_tokens' }
      )
    }
    // The tenant's two-factor requirement binds its members' tokens too.
    if (found.tenant.requireTwoFactor && !userHasTwoFactor(user)) {
      throw new ForbiddenException(
        `${found.tenant.name} requires two-factor authentication: turn it on for your account to use this token.`,
        { status: 403, code: 'E_FORBIDDEN' }
      )
    }
    ctx.tenant = found.tenant
    ctx.membership = found.membership
    return bindTenantReads(ctx, next)
  }
}
