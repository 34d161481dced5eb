import type { HttpContext } from '@adonisjs/core/http'
import { API_ABILITIES, tokenAbilities, type ApiAbility, type User } from '#auth'
import { currentTenant } from '#tenants/services/tenancy'
import { ABILITY_PERMISSIONS, roleAllows } from '#tenants/roles'
import type { MeDto } from '#tenants/dtos/me'

/** GET /api/v1/me: who the token acts as, where, and with which effective abilities. */
export default class MeController {
  show(ctx: HttpContext): MeDto {
    const user = ctx.auth.use('api').user as User
    const { tenant, membership } = currentTenant(ctx)
    const granted = tokenAbilities(ctx)
    // Effective abilities = the token's (or all) ∩ what the role allows.
    const abilities = (granted.length ? granted : [...API_ABILITIES]).filter(
      // An ability this version does not know (an older token) grants nothing.
      (ability): ability is ApiAbility =>
        ability in ABILITY_PERMISSIONS && roleAllows(membership.role, ABILITY_PERMISSIONS[ability])
    )
    return {
      user: { id: user.id, email: user.email, name: user.name },
      tenant: { id: tenant.id, slug: tenant.slug, name: tenant.name },
      role: membership.role,
      abilities,
    }
  }
}
