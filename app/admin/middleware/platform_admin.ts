import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'
import { Exception } from '@adonisjs/core/exceptions'
import type { User } from '#auth'

/**
 * Admin pages answer 404 to everyone but platform admins, signed out or not, so they do not
 * even reveal that they exist. Runs before `auth`, which then enforces session revocation and
 * timeouts for the admins who pass.
 */
export async function requirePlatformAdmin(ctx: HttpContext, next: NextFn) {
  const web = ctx.auth.use('web')
  const user = (await web.check()) ? (web.user as User) : null
  if (!user?.platformAdmin || user.disabledAt) {
    throw new Exception('Nothing exists at this address.', { status: 404, code: 'E_NOT_FOUND' })
  }
  return next()
}
