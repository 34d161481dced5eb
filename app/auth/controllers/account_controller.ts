import type { HttpContext } from '@adonisjs/core/http'
import { recordAudit } from '#platform'
import UserSession from '#auth/models/user_session'
import { profileValidator, timeZoneOptions } from '#auth/validators/auth'
import { SESSION_KEYS } from '#auth/services/sessions'
import type User from '#auth/models/user'
import { withSecrets } from '#auth/services/token_cache'
import hash from '@adonisjs/core/services/hash'
import vine from '@vinejs/vine'
import { deleteAccount } from '#auth/actions/delete_account'
import { throttledAttempt } from '#auth/services/brute_force'
import { logout } from '#auth/services/sessions'
import { urlFor } from '#core'

const deletionValidator = vine.create({ delete_password: vine.string().maxLength(128) })

/** The signed-in user's page: profile, security and sessions. */
export default class AccountController {
  async show({ view, auth, session }: HttpContext) {
    const user = auth.user as User
    const sessions = await UserSession.query()
      .where('userId', user.id)
      .whereNull('revokedAt')
      .orderBy('lastSeenAt', 'desc')
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
    await recordAudit({
      action: 'auth.profile.updated',
      actorId: user.id,
      actorLabel: user.email,
      subjectType: 'user',
      subjectId: user.id,
      changes,
    })
    session.flash('success', 'Profile saved.')
    return response.redirect(urlFor('auth.account.show'))
  }

  /** Deletes the account after re-authentication (password). */
  async destroy(ctx: HttpContext) {
    const { request, response, auth, session } = ctx
    const user = await withSecrets(auth.user as User)
    const { delete_password: password } = await request.validateUsing(deletionValidator)
    const ok = await throttledAttempt('login', user.email, request.ip(), () =>
      hash.verify(user.password, password)
    )
    if (!ok) {
      session.flashErrors({ delete_password: ['Your password is not correct.'] })
      return response.redirect(`${urlFor('auth.account.show')}#delete`)
    }
    const result = await deleteAccount(user)
    if ('refused' in result) {
      session.flash('error', result.refused)
      return response.redirect(`${urlFor('auth.account.show')}#delete`)
    }
    await logout(ctx)
    session.flash('success', 'Your account was deleted.')
    return response.redirect('/')
  }
}
