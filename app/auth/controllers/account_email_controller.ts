import type { HttpContext } from '@adonisjs/core/http'
import hash from '@adonisjs/core/services/hash'
import { emailChangeValidator } from '#auth/validators/recovery'
import { requestEmailChange } from '#auth/actions/request_email_change'
import { throttledAttempt } from '#auth/services/brute_force'
import type User from '#auth/models/user'
import { withSecrets } from '#auth/services/token_cache'
import { urlFor } from '#core'

/** Email change from the account page: re-authenticates, then mails a link to the new address. */
export default class AccountEmailController {
  async update({ request, response, auth, session }: HttpContext) {
    const user = await withSecrets(auth.user as User)
    const input = await request.validateUsing(emailChangeValidator)
    const ok = await throttledAttempt('login', user.email, request.ip(), () =>
      hash.verify(user.password, input.email_password)
    )
    if (!ok) {
      session.flashOnly(['new_email'])
      session.flashErrors({ email_password: ['Your current password is not correct.'] })
      return response.redirect(`${urlFor('auth.account.show')}#email`)
    }
    if (input.new_email.toLowerCase() === user.email.toLowerCase()) {
      session.flashErrors({ new_email: ['This is already your email address.'] })
      return response.redirect(`${urlFor('auth.account.show')}#email`)
    }
    await requestEmailChange(user, input.new_email)
    session.flash(
      'success',
      `We sent a confirmation link to ${input.new_email}. Your address changes once you open it.`
    )
    return response.redirect(`${urlFor('auth.account.show')}#email`)
  }
}
