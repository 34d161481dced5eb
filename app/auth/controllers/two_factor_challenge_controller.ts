import type { HttpContext } from '@adonisjs/core/http'
import { recordAudit } from '#platform'
import User from '#auth/models/user'
import { safeNext } from '#auth/controllers/session_controller'
import { completeLogin, SESSION_KEYS } from '#auth/services/sessions'
import { onRefusal, urlFor } from '#core'
import { throttledAttempt } from '#auth/services/brute_force'
import { parseSecondFactor, userHasTwoFactor } from '#auth/services/totp'
import { useSecondFactor } from '#auth/actions/use_second_factor'
import { twoFactorChallengeValidator } from '#auth/validators/two_factor'

/** The password step is only good for this long: after it, the whole login starts again. */
export const PENDING_LOGIN_TTL_MS = 5 * 60 * 1000

type PendingLogin = { userId: string; remember: boolean; next: string; at: number }

/** The login waiting for its second factor, or why there is none. */
function pendingLogin(session: HttpContext['session']): PendingLogin | 'missing' | 'expired' {
  const value = session.get(SESSION_KEYS.pendingTwoFactor)
  if (!value || typeof value.userId !== 'string' || typeof value.at !== 'number') return 'missing'
  const age = Date.now() - value.at
  return age >= 0 && age <= PENDING_LOGIN_TTL_MS ? value : 'expired'
}

/** The second login step (GET shows the form, POST checks a TOTP or recovery code). */
export default class TwoFactorChallengeController {
  create(ctx: HttpContext) {
    const pending = pendingLogin(ctx.session)
    if (typeof pending === 'string') return this.#restart(ctx, pending)
    return ctx.view.render('auth::pages/two_factor_challenge')
  }

  async store(ctx: HttpContext) {
    const { request, response, session } = ctx
    const pending = pendingLogin(session)
    if (typeof pending === 'string') return this.#restart(ctx, pending)
    const user = await User.find(pending.userId)
    // Disabled, or 2FA turned off from another session since the password step: start over.
    if (!user || user.disabledAt || !userHasTwoFactor(user)) return this.#restart(ctx, 'expired')

    const [invalid, input] = await twoFactorChallengeValidator.tryValidate(request.all())
    const factor = invalid ? null : parseSecondFactor(input.code)
    if (!factor) {
      return this.#render(
        ctx,
        422,
        'Enter the 6-digit code from your authenticator app, or one of your recovery codes.'
      )
    }
    onRefusal(ctx, { render: ({ message, status }) => this.#render(ctx, status, message) })
    const passed = await throttledAttempt(
      '2fa',
      user.id,
      request.ip(),
      async () => (await useSecondFactor(user, factor)) !== null
    )
    if (!passed) {
      await recordAudit({
        action: 'auth.2fa.challenge_failed',
        actorId: user.id,
        actorLabel: user.email,
        subjectType: 'user',
        subjectId: user.id,
        changes: { kind: factor.kind },
      })
      return this.#render(
        ctx,
        422,
        'That code is not valid or was already used. Enter the current code from your app.'
      )
    }
    await completeLogin(ctx, user, pending.remember)
    return response.redirect(safeNext(pending.next))
  }

  async #render({ view, response }: HttpContext, status: number, error: string) {
    response.status(status)
    return view.render('auth::pages/two_factor_challenge', { error })
  }

  #restart({ session, response, request }: HttpContext, reason: 'missing' | 'expired') {
    if (request.method() !== 'GET') session.forget(SESSION_KEYS.pendingTwoFactor)
    session.flash(
      'error',
      reason === 'expired' ? 'That login expired. Please log in again.' : 'Please log in first.'
    )
    return response.redirect(urlFor('auth.session.create'))
  }
}
