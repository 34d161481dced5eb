import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'
import { urlFor } from '#core'

/** Pages only for signed-out visitors (login, signup): signed-in users go to their account. */
export default class GuestMiddleware {
  async handle(ctx: HttpContext, next: NextFn) {
    if (await ctx.auth.check()) return ctx.response.redirect(urlFor('auth.account.show'))
    return next()
  }
}
