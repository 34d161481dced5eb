import type { HttpContext } from '@adonisjs/core/http'
import hash from '@adonisjs/core/services/hash'
import { recordAudit } from '#platform'
import { passwordChangeValidator } from '#auth/validators/auth'
import { passwordProblem } from '#auth/services/password_policy'
import { revokeSessions, SESSION_KEYS } from '#auth/services/sessions'
import { throttledAttempt } from '#auth/services/brute_force'
import type User from '#auth/models/user'
import { withSecrets } from '#auth/services/token_cache'
import { urlFor } from '#core'

/** Password change from the account page: re-authenticates, then ends every other session. */
export default class PasswordController {
  async update({ request, response, auth, session }: HttpContext) {
    const user = await withSecrets(auth.user as User)
    const input = await request.validateUsing(passwordChangeValidator)
    const ok = await throttledAttempt('login', user.email, request.ip(), () =>
      hash.verify(user.password, input.current_password)
    )
    if (!ok) {
      session.flashErrors({ current_password: ['Your current password is not correct.'] })
      return response.redirect(`${urlFor('auth.account.show')}#password`)
    }
    const problem = passwordProblem(input.password, { email: user.email, name: user.name })
    if (problem) {
      session.flashErrors({ password: [problem] })
      return response.redirect(`${urlFor('auth.account.show')}#password`)
    }
    user.password = input.password
    await user.save()
    await revokeSessions(user.id, session.get(SESSION_KEYS.record))
    await recordAudit({
      action: 'auth.password.changed',
      actorId: user.id,
      actorLabel: user.email,
      subjectType: 'user',
      subjectId: user.id,
    })
    session.flash('success', 'Password changed. Every other session was logged out.')
    return response.redirect(urlFor('auth.account.show'))
  }
}
