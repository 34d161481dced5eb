import type { HttpContext } from '@adonisjs/core/http'
import { confirmEmail } from '#auth/actions/confirm_email'
import { sendVerificationEmail } from '#auth/services/auth_mail'
import { throttledRequest } from '#auth/services/brute_force'
import { findUserToken, isEmailChange } from '#auth/services/user_tokens'
import { guardSecretUrl, renderLinkProblem, signedInUser } from '#auth/services/recovery_pages'
import type User from '#auth/models/user'
import { urlFor } from '#core'

/**
 * Email verification links. Opening a link only shows a page (mail scanners follow links); the
 * button on it POSTs to confirm. Signed-in users can ask for a new link.
 */
export default class EmailVerificationsController {
  async show(ctx: HttpContext) {
    const lookup = await findUserToken(ctx.params.token, 'email_verification')
    if (lookup.state !== 'valid') return renderLinkProblem(ctx, 'verification', lookup.state)
    guardSecretUrl(ctx)
    return ctx.view.render('auth::pages/email_verification', {
      user: await signedInUser(ctx),
      token: ctx.params.token,
      email: lookup.token.email,
      change: isEmailChange(lookup.token, lookup.user),
    })
  }

  async update(ctx: HttpContext) {
    const result = await confirmEmail(ctx.params.token)
    if (result.state !== 'verified' && result.state !== 'changed')
      return renderLinkProblem(ctx, 'verification', result.state)
    ctx.session.flash(
      'success',
      result.state === 'changed'
        ? `Your email address is now ${result.user.email}.`
        : `Thank you: ${result.user.email} is confirmed.`
    )
    return ctx.response.redirect(
      (await signedInUser(ctx)) ? urlFor('auth.account.show') : urlFor('auth.session.create')
    )
  }

  /** Sends a fresh link to the signed-in user's current address. */
  async store({ auth, request, response, session }: HttpContext) {
    const user = auth.user as User
    if (user.emailVerifiedAt) {
      session.flash('info', 'Your email address is already confirmed.')
      return response.redirect(`${urlFor('auth.account.show')}#email`)
    }
    await throttledRequest('verification', user.id, request.ip())
    await sendVerificationEmail(user, user.email)
    session.flash('success', `We sent a new confirmation link to ${user.email}.`)
    return response.redirect(`${urlFor('auth.account.show')}#email`)
  }
}
