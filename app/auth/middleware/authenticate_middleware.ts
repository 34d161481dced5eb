import { DateTime } from 'luxon'
import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'
import { impersonationValid } from '#auth/actions/impersonate'
import { isHtmx, wantsJson, problem, urlFor } from '#core'
import UserSession from '#auth/models/user_session'
import { hydrate } from '#auth/services/fact_cache'
import { cachedSessionFacts } from '#auth/services/token_cache'
import { ABSOLUTE_TIMEOUT_MS, IDLE_TIMEOUT_MS, SESSION_KEYS, logout } from '#auth/services/sessions'
import { issuedRememberToken } from '#auth/services/remember_tokens'
import type User from '#auth/models/user'

/**
 * Touch the session row, and the session's last-seen time, at most this often (one write a
 * minute, not one per request): the idle timeout is then exact to within a minute.
 */
const TOUCH_EVERY_MS = 60_000

/**
 * Browser routes that need a signed-in user. Enforces what the session guard alone does not:
 * disabled users, sessions revoked from another device, idle and absolute timeouts. A browser
 * restored from a remember-me cookie continues the session row its token is bound to.
 */
export default class AuthenticateMiddleware {
  async handle(ctx: HttpContext, next: NextFn) {
    // ctx.auth.check() (not the guard's) so that ctx.auth.user is set for controllers.
    const user = (await ctx.auth.check()) ? (ctx.auth.user as User) : null
    const reason = user
      ? await this.#rejection(ctx, user, ctx.auth.use('web').viaRemember)
      : 'signed-out'
    if (reason) {
      if (user) await logout(ctx)
      return this.#deny(ctx, reason)
    }
    return next()
  }

  async #rejection(ctx: HttpContext, user: User, viaRemember: boolean): Promise<string | null> {
    if (user.disabledAt) return 'disabled'
    if (!(await impersonationValid(ctx))) return 'revoked'
    const now = Date.now()
    let recordId: string | undefined = ctx.session.get(SESSION_KEYS.record)
    if (!recordId || viaRemember) {
      const restored = await this.#restoredSession(ctx, user, viaRemember)
      if (restored === 'revoked') return 'revoked'
      recordId = restored
      ctx.session.put(SESSION_KEYS.record, recordId)
      ctx.session.put(SESSION_KEYS.startedAt, now)
      ctx.session.put(SESSION_KEYS.seenAt, now)
    }
    const facts = await cachedSessionFacts(recordId)
    const record = facts && hydrate(UserSession, facts)
    if (!record || record.revokedAt || record.userId !== user.id) return 'revoked'
    const seenAt = Number(ctx.session.get(SESSION_KEYS.seenAt, now))
    const startedAt = Number(ctx.session.get(SESSION_KEYS.startedAt, now))
    if (now - seenAt > IDLE_TIMEOUT_MS) return 'idle'
    if (!record.remembered && now - startedAt > ABSOLUTE_TIMEOUT_MS) return 'expired'
    if (now - seenAt > TOUCH_EVERY_MS) ctx.session.put(SESSION_KEYS.seenAt, now)
    if (now - record.lastSeenAt.toMillis() > TOUCH_EVERY_MS) {
      record.lastSeenAt = DateTime.now()
      await record.save()
    }
    return null
  }

  /**
   * The session row a browser continues after its session cookie expired: the one bound to the
   * remember-me token it presented (the binding moved to the recycled token), or a new row.
   */
  async #restoredSession(ctx: HttpContext, user: User, viaRemember: boolean) {
    const tokenId = viaRemember ? issuedRememberToken(ctx) : null
    const bound =
      tokenId === null
        ? null
        : await UserSession.query()
            .where('userId', user.id)
            .where('rememberTokenId', tokenId)
            .first()
    if (bound?.revokedAt) return 'revoked'
    if (bound) return bound.id
    const record = await UserSession.create({
      userId: user.id,
      ip: ctx.request.ip(),
      userAgent: ctx.request.header('user-agent')?.slice(0, 512) ?? null,
      remembered: true,
      rememberTokenId: tokenId,
      lastSeenAt: DateTime.now(),
    })
    return record.id
  }

  #deny(ctx: HttpContext, reason: string) {
    const message =
      reason === 'signed-out'
        ? 'Please log in to continue.'
        : 'Your session has ended. Please log in again.'
    if (wantsJson(ctx)) {
      return ctx.response
        .status(401)
        .header('content-type', 'application/problem+json')
        .send(JSON.stringify(problem(401, message, { request_id: ctx.request.id() })))
    }
    const target = urlFor('auth.session.create', {}, { qs: { next: ctx.request.url(true) } })
    if (isHtmx(ctx)) return ctx.response.header('HX-Redirect', target).status(401).send('')
    ctx.session.flash('info', message)
    return ctx.response.redirect(target)
  }
}
