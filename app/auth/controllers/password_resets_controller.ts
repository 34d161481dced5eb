import type { HttpContext } from '@adonisjs/core/http'
import { passwordResetRequestValidator, passwordResetValidator } from '#auth/validators/recovery'
import { requestPasswordReset } from '#auth/actions/request_password_reset'
import { resetPassword } from '#auth/actions/reset_password'
import { onRefusal, urlFor } from '#core'
import { throttledRequest } from '#auth/services/brute_force'
import { findUserToken } from '#auth/services/user_tokens'
import { countApiTokens } from '#auth/services/token_cache'
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
    return response.redirect(urlFor('auth.password_reset.create'))
  }

  async show(ctx: HttpContext) {
    const lookup = await findUserToken(ctx.params.token, 'password_reset')
    if (lookup.state !== 'valid') return renderLinkProblem(ctx, 'reset', lookup.state)
    guardSecretUrl(ctx)
    return ctx.view.render('auth::pages/password_reset', {
      user: await signedInUser(ctx),
      token: ctx.params.token,
      email: lookup.user.email,
      apiTokens: await countApiTokens(lookup.user.id),
    })
  }

  async update(ctx: HttpContext) {
    const { request, response, session, view, params } = ctx
    // A refused password shows this page again (it sends no Referer to go "back" to).
    onRefusal(ctx, {
      render: async ({ fieldErrors, message }) => {
        const lookup = await findUserToken(params.token, 'password_reset')
        if (lookup.state !== 'valid') return renderLinkProblem(ctx, 'reset', lookup.state)
        guardSecretUrl(ctx)
        return view.render('auth::pages/password_reset', {
          user: await signedInUser(ctx),
          token: params.token,
          email: lookup.user.email,
          apiTokens: await countApiTokens(lookup.user.id),
          revokeApiTokens: request.input('revoke_api_tokens') !== undefined,
          error: fieldErrors.password?.[0] ?? message,
        })
      },
    })
    const input = await request.validateUsing(passwordResetValidator)
    const result = await resetPassword(params.token, input.password, {
      revokeApiTokens: input.revoke_api_tokens === true,
    })
    if (result.state !== 'reset') return renderLinkProblem(ctx, 'reset', result.state)
    if ((await signedInUser(ctx))?.id === result.user.id) await logout(ctx)
    const tokens = input.revoke_api_tokens ? ' and every API token revoked' : ''
    session.flash(
      'success',
      `Your password is changed and every device was logged out${tokens}. Log in with your new password.`
    )
    return response.redirect(urlFor('auth.session.create'))
  }
}
