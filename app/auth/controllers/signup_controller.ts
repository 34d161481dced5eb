import type { HttpContext } from '@adonisjs/core/http'
import { signupValidator } from '#auth/validators/auth'
import { signUp } from '#auth/actions/sign_up'
import { sendSignupAttemptNotice, sendVerificationEmail } from '#auth/services/auth_mail'
import UserSignedUp from '#auth/events/user_signed_up'
import { urlFor } from '#core'
import { throttledRequest } from '#auth/services/brute_force'

/**
 * Sign-up. New and already-registered emails get the very same response (a redirect to the
 * login page asking to check the inbox); only the email sent differs.
 */
export default class SignupController {
  create({ view }: HttpContext) {
    return view.render('auth::pages/signup')
  }

  async store({ request, response, session }: HttpContext) {
    const input = await request.validateUsing(signupValidator)
    // Each sign-up sends a mail: 5 a quarter-hour per address asked for, 50 per client address.
    await throttledRequest('signup', input.email, request.ip())
    const result = await signUp(input)
    if ('error' in result) {
      session.flashAll()
      session.flashErrors({ [result.error.field]: [result.error.message] })
      return response.redirect().back()
    }
    if ('taken' in result) {
      await sendSignupAttemptNotice(input.email)
    } else {
      await sendVerificationEmail(result.user, result.user.email)
      await UserSignedUp.dispatch(result.user.id)
    }
    session.flash(
      'success',
      `Almost there: we sent a confirmation link to ${input.email}. You can log in now.`
    )
    session.flash('email', input.email)
    return response.redirect(urlFor('auth.session.create'))
  }
}
