import type { HttpContext } from '@adonisjs/core/http'
import { recordAudit } from '#platform'
import UserSession from '#auth/models/user_session'
import { profileValidator, timeZoneOptions } from '#auth/validators/auth'
import { SESSION_KEYS } from '#auth/services/sessions'
import type User from '#auth/models/user'

/** The signed-in user's page: profile, security and sessions. */
export default class AccountController {
  async show({ view, auth, session }: HttpContext) {
    const user = auth.user as User
    const sessions = await UserSession.query().where('userId', user.id).whereNull('revokedAt').orderBy('lastSeenAt', 'desc')
    return view.render('auth::pages/account', {
      user,
      sessions,
      currentSessionId: session.get(SESSION_KEYS.record),
      timeZones: timeZoneOptions(),
    })
  }

  async update({ request, response, auth, session }: HttpContext) {
    const user = auth.user as User
    const { name, timeZone } = await request.validateUsing(profileValidator)
    const changes = { name: [user.name, name], timeZone: [user.timeZone, timeZone] }
    user.merge({ name, timeZone })
    await user.save()
    await recordAudit({ action: 'auth.profile.updated', actorId: user.id, actorLabel: user.email, subjectType: 'user', subjectId: user.id, changes })
    session.flash('success', 'Profile saved.')
    return response.redirect('/account')
  }
}
