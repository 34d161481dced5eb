import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'
import { errors } from '@adonisjs/auth'
import type User from '#auth/models/user'

/**
 * Bearer-token authentication for /api: missing, invalid, expired or revoked tokens and
 * disabled users all get 401 (as a problem document, via the exception handler).
 */
export default class ApiAuthMiddleware {
  async handle(ctx: HttpContext, next: NextFn) {
    const user = (await ctx.auth.use('api').authenticate()) as User
    if (user.disabledAt) {
      throw new errors.E_UNAUTHORIZED_ACCESS('This account is disabled.', {
        guardDriverName: 'access_tokens',
      })
    }
    return next()
  }
}
