import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'
import type {} from '@adonisjs/auth/initialize_auth_middleware'
import { isStatelessPath } from '#core'
import { impersonatorOf } from '#auth/actions/impersonate'

/**
 * @adonisjs/auth's InitializeAuthMiddleware, except that `auth` is shared with the templates only
 * on browser paths: touching the lazy `ctx.view` builds an Edge renderer, which probes and the
 * JSON API never need (it was half the cost of /health/live).
 */
export default class InitializeAuthMiddleware {
  async handle(ctx: HttpContext, next: NextFn) {
    ctx.auth = (await ctx.containerResolver.make('auth.manager')).createAuthenticator(ctx)
    if (!isStatelessPath(ctx.request.url()))
      ctx.view.share({ auth: ctx.auth, impersonator: impersonatorOf(ctx) })
    return next()
  }
}
