import type { HttpContext } from '@adonisjs/core/http'
import hash from '@adonisjs/core/services/hash'
import type User from '#auth/models/user'
import { throttledAttempt } from '#auth/services/brute_force'
import { withSecrets } from '#auth/services/token_cache'
import { urlFor } from '#core'

/* HTTP helpers shared by the two-factor account forms. */

/** The account page's two-factor card (a function: routes are named after this module loads). */
export function twoFactorSection() {
  return `${urlFor('auth.account.show')}#two-factor`
}

/** Re-authentication before a security change; failures count with login failures for the email. */
export async function passwordConfirmed(user: User, password: string, ip: string) {
  const { password: stored } = await withSecrets(user)
  return throttledAttempt('login', user.email, ip, () => hash.verify(stored, password))
}

/** Back to the account page's two-factor card with a message on one field (forms work without JS). */
export function backToSection({ session, response }: HttpContext, field: string, message: string) {
  session.flash('error', message)
  session.flash('inputErrorsBag', { [field]: [message] })
  return response.redirect(twoFactorSection())
}

/** Pages showing a secret or recovery codes must not be cached anywhere. */
export function noStore(response: HttpContext['response']) {
  response.header('Cache-Control', 'no-store')
}
