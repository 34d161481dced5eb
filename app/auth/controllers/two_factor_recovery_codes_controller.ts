import type { HttpContext } from '@adonisjs/core/http'
import type User from '#auth/models/user'
import { regenerateRecoveryCodes } from '#auth/actions/regenerate_recovery_codes'
import { regenerateRecoveryCodesValidator } from '#auth/validators/two_factor'
import {
  backToSection,
  noStore,
  passwordConfirmed,
  twoFactorSection,
} from '#auth/services/two_factor_forms'

/** A new set of recovery codes (POST): the old set stops working; the new one is shown once. */
export default class TwoFactorRecoveryCodesController {
  async store(ctx: HttpContext) {
    const { request, auth, response, session, view } = ctx
    const user = auth.user as User
    const [invalid, input] = await regenerateRecoveryCodesValidator.tryValidate(request.all())
    if (invalid) return backToSection(ctx, 'regenerate_password', 'Enter your current password.')
    if (!user.totpEnabledAt) {
      session.flash('error', 'Turn on two-factor authentication first.')
      return response.redirect(twoFactorSection())
    }
    if (!(await passwordConfirmed(user, input.regenerate_password, request.ip()))) {
      return backToSection(ctx, 'regenerate_password', 'Your password is not correct.')
    }
    const codes = await regenerateRecoveryCodes(user)
    if (!codes) return response.redirect(twoFactorSection())
    noStore(response)
    return view.render('auth::pages/two_factor_recovery_codes', {
      user,
      codes,
      notice: 'New recovery codes were generated. The previous codes no longer work.',
    })
  }
}
