import type { HttpContext } from '@adonisjs/core/http'
import { recordAudit } from '#platform'
import { loginValidator } from '#auth/validators/auth'
import { verifyCredentials } from '#auth/services/credentials'
import { onRefusal, urlFor } from '#core'
import { throttledAttempt } from '#auth/services/brute_force'
import { completeLogin, logout, SESSION_KEYS } from '#auth/services/sessions'
import type User from '#auth/models/user'

const GENERIC_FAILURE = 'Email or password is incorrect.'

/** Only same-site relative paths are followed after login (no open redirect); default: /home. */
export function safeNext(next: unknown) {
  return typeof next === 'string' && /^\/(?![/\\])/.test(next) ? next : urlFor('tenants.home')
}

/** Log in (POST /login) and log out (DELETE /session). */
export default class SessionController {
  create({ view, request }: HttpContext) {
    return view.render('auth::pages/login', { next: safeNext(request.input('next')) })
  }

  async store(ctx: HttpContext) {
    const { request, response, session, view } = ctx
    const input = await request.validateUsing(loginValidator)
    let user: User | null = null
    onRefusal(ctx, {
      render: ({ message }) =>
        view.render('auth::pages/login', {
          next: safeNext(input.next),
          error: message,
          email: input.email,
        }),
    })
    await throttledAttempt('login', input.email, request.ip(), async () => {
      user = await verifyCredentials(input.email, input.password)
      return user !== null && !user.disabledAt
    })
    const signedIn = user as User | null
    if (!signedIn || signedIn.disabledAt) {
      await recordAudit({
        action: 'auth.login.failed',
        actorLabel: input.email.slice(0, 254),
        subjectType: 'user',
        subjectId: signedIn?.id ?? null,
      })
      response.status(422)
      return view.render('auth::pages/login', {
        next: safeNext(input.next),
        error: GENERIC_FAILURE,
        email: input.email,
      })
    }
    if (signedIn.twoFactorEnabled) {
      session.regenerate()
      session.put(SESSION_KEYS.pendingTwoFactor, {
        userId: signedIn.id,
        remember: Boolean(input.remember),
        next: safeNext(input.next),
        at: Date.now(),
      })
      return response.redirect(urlFor('auth.two_factor_challenge.create'))
    }
    await completeLogin(ctx, signedIn, Boolean(input.remember))
    return response.redirect(safeNext(input.next))
  }

  async destroy(ctx: HttpContext) {
    const user = ctx.auth.user as User | undefined
    await logout(ctx)
    if (user)
      await recordAudit({
        action: 'auth.logout',
        actorId: user.id,
        actorLabel: user.email,
        subjectType: 'user',
        subjectId: user.id,
      })
    ctx.session.flash('success', 'You are logged out.')
    return ctx.response.redirect('/')
  }
}
