import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'
import { errors } from '@adonisjs/auth'
import { rateHeaders, takeRate } from '#core'
import type User from '#auth/models/user'

/**
 * Bearer-token authentication for /api: missing, invalid, expired or revoked tokens and
 * disabled users all get 401 (as a problem document, via the exception handler). Then the
 * token's rate limit: RATE_LIMIT_API_PER_MIN requests a minute, RateLimit-* headers on every
 * answer, 429 with Retry-After beyond.
 */
export default class ApiAuthMiddleware {
  async handle(ctx: HttpContext, next: NextFn) {
    const user = (await ctx.auth.use('api').authenticate()) as User
    if (user.disabledAt) {
      throw new errors.E_UNAUTHORIZED_ACCESS('This account is disabled.', {
        guardDriverName: 'access_tokens',
      })
    }
    const tokenId = ctx.auth.use('api').user!.currentAccessToken.identifier
    const perMin = Number(process.env.RATE_LIMIT_API_PER_MIN) || 1200
    const state = await takeRate(
      `api:token:${tokenId}`,
      perMin,
      `This token made more than ${perMin} requests in a minute; wait and retry.`
    )
    for (const [name, value] of Object.entries(state ? rateHeaders(state) : {}))
      ctx.response.header(name, value)
    return next()
  }
}
