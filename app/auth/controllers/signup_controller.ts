import type { HttpContext } from '@adonisjs/core/http'
import { signupValidator } from '#auth/validators/auth'
import { signUp } from '#auth/actions/sign_up'
import { sendSignupAttemptNotice, sendVerificationEmail } from '#auth/services/auth_mail'
import UserSignedUp from '#auth/events/user_signed_up'
import { inBackground, urlFor } from '#core'
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
    // What follows differs by case and is slow (mail, the personal workspace): it runs after the
    // answer, which then takes the same time whether the address was taken or not.
    inBackground(
      'taken' in result
        ? sendSignupAttemptNotice(input.email)
        : sendVerificationEmail(result.user, result.user.email).then(() =>
            UserSignedUp.dispatch(result.user.id)
          ),
      'sign-up follow-up'
    )
    session.flash(
      'success',
      `Almost there: we sent a confirmation link to ${input.email}. You can log in now.`
    )
    session.flash('email', input.email)
    return response.redirect(urlFor('auth.session.create'))
  }
}
