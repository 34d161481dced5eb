import type { HttpContext } from '@adonisjs/core/http'
import { recordAudit } from '#platform'
import { isUuid, NotFoundException, urlFor } from '#core'
import UserSession from '#auth/models/user_session'
import { revokeSession } from '#auth/services/sessions'
import type User from '#auth/models/user'

/** "Log out this session" for one of the signed-in user's browsers. */
export default class UserSessionsController {
  async destroy({ params, response, auth, session }: HttpContext) {
    const user = auth.user as User
    // Scoped to the user: another user's session id is simply not found.
    const record = isUuid(params.id)
      ? await UserSession.query()
          .where('userId', user.id)
          .where('id', params.id)
          .whereNull('revokedAt')
          .first()
      : null
    if (!record) throw new NotFoundException()
    await revokeSession(record)
    await recordAudit({
      action: 'auth.session.revoked',
      actorId: user.id,
      actorLabel: user.email,
      subjectType: 'user_session',
      subjectId: record.id,
    })
    session.flash('success', 'That session is logged out.')
    return response.redirect(`${urlFor('auth.account.show')}#sessions`)
  }
}
