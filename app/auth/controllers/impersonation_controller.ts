import type { HttpContext } from '@adonisjs/core/http'
import { urlFor } from '#core'
import { endImpersonation } from '#auth/actions/impersonate'

/** DELETE /impersonation: the admin behind an impersonated session takes their own back. */
export default class ImpersonationController {
  async destroy(ctx: HttpContext) {
    const ended = await endImpersonation(ctx)
    if (ended) ctx.session.flash('success', 'Impersonation ended.')
    return ctx.response.redirect(ended ? urlFor('admin.users.index') : urlFor('auth.account.show'))
  }
}
