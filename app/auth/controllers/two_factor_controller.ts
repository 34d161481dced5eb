import type { HttpContext } from '@adonisjs/core/http'
import type User from '#auth/models/user'
import { withSecrets } from '#auth/services/token_cache'
import { onRefusal } from '#core'
import { throttledAttempt } from '#auth/services/brute_force'
import {
  decryptTotpSecret,
  formatSecretForDisplay,
  otpauthUri,
  parseSecondFactor,
  qrCodeSvg,
} from '#auth/services/totp'
import { startTwoFactor } from '#auth/actions/start_two_factor'
import { confirmTwoFactor } from '#auth/actions/confirm_two_factor'
import { disableTwoFactor } from '#auth/actions/disable_two_factor'
import { revokeSessions, SESSION_KEYS } from '#auth/services/sessions'
import {
  backToSection,
  noStore,
  passwordConfirmed,
  twoFactorSection,
} from '#auth/services/two_factor_forms'
import {
  confirmTwoFactorValidator,
  disableTwoFactorValidator,
  enableTwoFactorValidator,
} from '#auth/validators/two_factor'

const MESSAGES = {
  password: 'Enter your current password.',
  wrongPassword: 'Your password is not correct.',
  code: 'Enter the 6-digit code from your authenticator app, or one of your recovery codes.',
  wrongCode: 'That code is not valid (or was already used).',
  setupCode: 'Enter the 6-digit code your authenticator app shows.',
  wrongSetupCode:
    'That code does not match. Check that your device’s clock is right and enter the current code.',
} as const

/** Two-factor enrolment (POST + PUT) and removal (DELETE) on the signed-in account. */
export default class TwoFactorController {
  /** Starts enrolment after the password: a new secret, shown as a QR code and as text. */
  async store(ctx: HttpContext) {
    const { request, auth, session, response } = ctx
    const user = auth.user as User
    const [invalid, input] = await enableTwoFactorValidator.tryValidate(request.all())
    if (invalid) return backToSection(ctx, 'enable_password', MESSAGES.password)
    if (user.totpEnabledAt) {
      session.flash('info', 'Two-factor authentication is already on.')
      return response.redirect(twoFactorSection())
    }
    if (!(await passwordConfirmed(user, input.enable_password, request.ip()))) {
      return backToSection(ctx, 'enable_password', MESSAGES.wrongPassword)
    }
    const started = await startTwoFactor(user)
    if (!started) return response.redirect(twoFactorSection())
    return this.#renderSetup(ctx, started.secret)
  }

  /** Confirms enrolment with a code from the new secret; shows the recovery codes once. */
  async update(ctx: HttpContext) {
    const { request, auth, session, response, view } = ctx
    const user = await withSecrets(auth.user as User)
    if (user.totpEnabledAt) {
      session.flash('info', 'Two-factor authentication is already on.')
      return response.redirect(twoFactorSection())
    }
    const secret = decryptTotpSecret(user.totpSecretEncrypted)
    if (!secret) {
      session.flash(
        'error',
        'Start the set-up again: no authenticator is waiting for confirmation.'
      )
      return response.redirect(twoFactorSection())
    }
    const [invalid, input] = await confirmTwoFactorValidator.tryValidate(request.all())
    const factor = invalid ? null : parseSecondFactor(input.code)
    if (!factor || factor.kind !== 'totp')
      return this.#renderSetup(ctx, secret, MESSAGES.setupCode, 422)

    let outcome: Awaited<ReturnType<typeof confirmTwoFactor>> | undefined
    onRefusal(ctx, {
      render: ({ message, status }) => this.#renderSetup(ctx, secret, message, status),
    })
    await throttledAttempt('2fa', user.id, request.ip(), async () => {
      outcome = await confirmTwoFactor(user, factor.code)
      return outcome.ok
    })
    if (!outcome?.ok) {
      if (outcome?.reason !== 'invalid_code') return response.redirect(twoFactorSection())
      return this.#renderSetup(ctx, secret, MESSAGES.wrongSetupCode, 422)
    }
    // Whoever else was signed in (perhaps with a stolen password) must now pass the second factor.
    await revokeSessions(user.id, ctx.session.get(SESSION_KEYS.record))
    noStore(response)
    return view.render('auth::pages/two_factor_recovery_codes', {
      user,
      codes: outcome.recoveryCodes,
      notice:
        'Two-factor authentication is on. From now on, logging in asks for a code from your app.',
    })
  }

  /** Turns two-factor off: needs the password and a current TOTP or recovery code. */
  async destroy(ctx: HttpContext) {
    const { request, auth, session, response } = ctx
    const user = await withSecrets(auth.user as User)
    const [invalid, input] = await disableTwoFactorValidator.tryValidate(request.all())
    if (invalid) {
      const field = invalid.messages.some((m: { field: string }) => m.field === 'disable_password')
        ? 'disable_password'
        : 'disable_code'
      return backToSection(
        ctx,
        field,
        field === 'disable_password' ? MESSAGES.password : MESSAGES.code
      )
    }
    const factor = parseSecondFactor(input.disable_code)
    if (!factor) return backToSection(ctx, 'disable_code', MESSAGES.code)
    if (!user.totpEnabledAt) return response.redirect(twoFactorSection())
    if (!(await passwordConfirmed(user, input.disable_password, request.ip()))) {
      return backToSection(ctx, 'disable_password', MESSAGES.wrongPassword)
    }
    if (
      !(await throttledAttempt('2fa', user.id, request.ip(), () => disableTwoFactor(user, factor)))
    ) {
      return backToSection(ctx, 'disable_code', MESSAGES.wrongCode)
    }
    session.flash(
      'success',
      'Two-factor authentication is off. Your recovery codes no longer work.'
    )
    return response.redirect(twoFactorSection())
  }

  async #renderSetup(
    { view, response, auth }: HttpContext,
    secret: string,
    error?: string,
    status = 200
  ) {
    const user = auth.user as User
    noStore(response)
    response.status(status)
    return view.render('auth::pages/two_factor_setup', {
      user,
      qrSvg: await qrCodeSvg(otpauthUri(secret, user.email)),
      secret: formatSecretForDisplay(secret),
      error,
    })
  }
}
