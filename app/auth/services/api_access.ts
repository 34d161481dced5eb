import type { HttpContext } from '@adonisjs/core/http'
import { Exception } from '@adonisjs/core/exceptions'
import type { ApiAbility } from '#auth/abilities'
import { ApiAccessToken } from '#auth/services/cached_user_providers'

/** 403 naming what is missing (an ability, a role or a budget). */
export class ForbiddenException extends Exception {
  static status = 403
  static code = 'E_FORBIDDEN'
}

/** The abilities of the request's bearer token; an empty list means "everything the role allows". */
export function tokenAbilities(ctx: HttpContext): string[] {
  const token = ctx.auth.use('api').user?.currentAccessToken
  const abilities = token?.abilities ?? []
  return abilities.includes('*') ? [] : abilities
}

/** The tenant the request's bearer token is bound to (null: none, or not a token request). */
export function tokenTenantId(ctx: HttpContext): string | null {
  const token = ctx.auth.use('api').user?.currentAccessToken
  return token instanceof ApiAccessToken ? token.tenantId : null
}

/** Throws 403 unless the bearer token carries `ability` (or carries no restriction). */
export function requireAbility(ctx: HttpContext, ability: ApiAbility) {
  const abilities = tokenAbilities(ctx)
  if (abilities.length > 0 && !abilities.includes(ability)) {
    throw new ForbiddenException(`This token lacks the "${ability}" ability.`, {
      status: 403,
      code: 'E_FORBIDDEN',
    })
  }
}
