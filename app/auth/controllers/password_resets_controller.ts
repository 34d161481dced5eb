import type { HttpContext } from '@adonisjs/core/http'
import { passwordResetRequestValidator, passwordResetValidator } from '#auth/validators/recovery'
import { requestPasswordReset } from '#auth/actions/request_password_reset'
import { resetPassword } from '#auth/actions/reset_password'
import { onRefusal } from '#core'
import { throttledRequest } from '#auth/services/brute_force'
import { findUserToken } from '#auth/services/user_tokens'
import { logout } from '#auth/services/sessions'
import { guardSecretUrl, renderLinkProblem, signedInUser } from '#auth/services/recovery_pages'

/**
 * "Forgot your password?": ask for a link (the answer never says whether the address has an
 * account), then choose a new password on the page the link opens.
 */
export default class PasswordResetsController {
  async create(ctx: HttpContext) {
    return ctx.view.render('auth::pages/password_reset_request', { user: await signedInUser(ctx) })
  }

  async store(ctx: HttpContext) {
    const { request, response, session, view } = ctx
    const { email } = await request.validateUsing(passwordResetRequestValidator)
    onRefusal(ctx, {
      render: async ({ message }) =>
        view.render('auth::pages/password_reset_request', {
          user: await signedInUser(ctx),
          error: message,
          email,
        }),
    })
    await throttledRequest('reset', email, request.ip())
    await requestPasswordReset(email)
    session.flash(
      'success',
      `If an account exists for ${email}, we sent it a link to choose a new password. The link works for 1 hour.`
    )
    return response.redirect('/password-resets/new')
  }

  async show(ctx: HttpContext) {
    const lookup = await findUserToken(ctx.params.token, 'password_reset')
    if (lookup.state !== 'valid') return renderLinkProblem(ctx, 'reset', lookup.state)
    guardSecretUrl(ctx)
    return ctx.view.render('auth::pages/password_reset', {
      user: await signedInUser(ctx),
      token: ctx.params.token,
      email: lookup.user.email,
    })
  }

  async update(ctx: HttpContext) {
    const { request, response, session, view, params } = ctx
    // Validated here rather than by the exception handler: its "redirect back" needs a Referer,
    // which this page does not send.
    const [invalid, input] = await passwordResetValidator.tryValidate(request.all())
    const result = invalid
      ? { state: 'weak' as const, message: 'Enter a new password of at most 128 characters.' }
      : await resetPassword(params.token, input.password)
    if (result.state === 'weak') {
      const lookup = await findUserToken(params.token, 'password_reset')
      if (lookup.state !== 'valid') return renderLinkProblem(ctx, 'reset', lookup.state)
      guardSecretUrl(ctx)
      response.status(422)
      return view.render('auth::pages/password_reset', {
        user: await signedInUser(ctx),
        token: params.token,
        email: lookup.user.email,
        error: result.message,
      })
    }
    if (result.state !== 'reset') return renderLinkProblem(ctx, 'reset', result.state)
    if ((await signedInUser(ctx))?.id === result.user.id) await logout(ctx)
    session.flash(
      'success',
      'Your password is changed and every device was logged out. Log in with your new password.'
    )
    return response.redirect('/login')
  }
}
