import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'
import { errors } from '@adonisjs/auth'
import { tokenTenantId, type User } from '#auth'
import { membershipFor } from '#tenants/services/tenancy'

/**
 * API requests act in the tenant their token was issued for. A token whose user is no longer
 * a member (removal also deletes such tokens) or that is bound to no tenant gets 401.
 */
export default class ApiTenantMiddleware {
  async handle(ctx: HttpContext, next: NextFn) {
    const guard = ctx.auth.use('api')
    const user = guard.user as User
    const tenantId = await tokenTenantId(guard.user?.currentAccessToken?.identifier)
    const found = tenantId ? await membershipFor(user.id, { id: tenantId }) : null
    if (!found) {
      throw new errors.E_UNAUTHORIZED_ACCESS('This token is not valid for any workspace you belong to.', { guardDriverName: 'access_tokens' })
    }
    ctx.tenant = found.tenant
    ctx.membership = found.membership
    return next()
  }
}
