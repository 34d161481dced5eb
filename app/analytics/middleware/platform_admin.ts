import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'
import { NotFoundException } from '#core'
import type { User } from '#auth'

/**
 * Platform analytics, like every admin page, is a 404 for anyone but an enabled platform admin
 * (analytics may not import the admin module, which depends on it).
 */
export async function platformAdminsOnly(ctx: HttpContext, next: NextFn) {
  const guard = ctx.auth.use('web')
  const admin =
    (await guard.check()) && (guard.user as User).platformAdmin && !(guard.user as User).disabledAt
  if (!admin) throw new NotFoundException()
  return next()
}
