import { DateTime } from 'luxon'
import type { HttpContext } from '@adonisjs/core/http'
import db from '@adonisjs/lucid/services/db'
import { issuedRememberToken } from '#auth/services/remember_tokens'
import { recordAudit } from '#platform'
import User from '#auth/models/user'
import UserSession from '#auth/models/user_session'
import { deleteTokens, forgetSessions } from '#auth/services/token_cache'

/** Session keys owned by auth. */
export const SESSION_KEYS = {
  record: 'auth.session_id',
  startedAt: 'auth.started_at',
  seenAt: 'auth.seen_at',
  pendingTwoFactor: 'auth.pending_2fa',
  confirmedAt: 'auth.confirmed_at',
} as const

/** A session idle this long, or (unless remembered) this old, must log in again. */
export const IDLE_TIMEOUT_MS = 60 * 60 * 1000
export const ABSOLUTE_TIMEOUT_MS = 12 * 60 * 60 * 1000
/** Sensitive actions (creating an API token) ask for the password again after this long. */
export const SUDO_WINDOW_MS = 15 * 60 * 1000

/** Whether the password was entered in this session within the sudo window. */
export function recentlyConfirmed(ctx: HttpContext) {
  const at = Number(ctx.session.get(SESSION_KEYS.confirmedAt, 0))
  return Date.now() - at <= SUDO_WINDOW_MS
}

export function markConfirmed(ctx: HttpContext) {
  ctx.session.put(SESSION_KEYS.confirmedAt, Date.now())
}

/** Ends one tracked session and the remember-me token bound to it. */
export async function revokeSession(record: UserSession) {
  await db.transaction(async (trx) => {
    record.useTransaction(trx)
    record.revokedAt = DateTime.now()
    await record.save()
    if (record.rememberTokenId !== null)
      await trx.from('remember_me_tokens').where('id', record.rememberTokenId).delete()
  })
}

/**
 * Finishes a login once every factor is verified: a fresh session id (no fixation), a tracked
 * session row the user can see and revoke, and the audit event.
 */
export async function completeLogin(ctx: HttpContext, user: User, remember: boolean) {
  await ctx.auth.use('web').login(user, remember)
  ctx.session.regenerate()
  const record = await UserSession.create({
    userId: user.id,
    ip: ctx.request.ip(),
    userAgent: ctx.request.header('user-agent')?.slice(0, 512) ?? null,
    remembered: remember,
    rememberTokenId: remember ? issuedRememberToken(ctx) : null,
    lastSeenAt: DateTime.now(),
  })
  const now = Date.now()
  ctx.session.forget(SESSION_KEYS.pendingTwoFactor)
  ctx.session.put(SESSION_KEYS.record, record.id)
  ctx.session.put(SESSION_KEYS.startedAt, now)
  ctx.session.put(SESSION_KEYS.seenAt, now)
  ctx.session.put(SESSION_KEYS.confirmedAt, now)
  await recordAudit({
    action: 'auth.login.succeeded',
    actorId: user.id,
    actorLabel: user.email,
    subjectType: 'user',
    subjectId: user.id,
  })
}

/** Logs the current browser out and marks its session row revoked. */
export async function logout(ctx: HttpContext) {
  const recordId = ctx.session.get(SESSION_KEYS.record)
  const record = recordId ? await UserSession.find(recordId) : null
  if (record && !record.revokedAt) await revokeSession(record)
  await ctx.auth.use('web').logout()
  ctx.session.clear()
  ctx.session.regenerate()
}

/**
 * Ends every session and remember-me token of a user except, optionally, the current session
 * and its own token: used on password change and reset, enabling 2FA, disable and deletion.
 */
export async function revokeSessions(userId: string, keepSessionId?: string) {
  await db.transaction(async (trx) => {
    const query = trx.from('user_sessions').where('user_id', userId).whereNull('revoked_at')
    if (keepSessionId) query.whereNot('id', keepSessionId)
    const revoked: { id: string }[] = await query.update({ revoked_at: new Date() }, ['id'])
    await forgetSessions(
      revoked.map((row) => row.id),
      trx
    )
    const tokens = trx.from('remember_me_tokens').where('tokenable_id', userId)
    if (keepSessionId)
      tokens.whereNotIn(
        'id',
        trx
          .from('user_sessions')
          .where('id', keepSessionId)
          .whereNotNull('remember_token_id')
          .select('remember_token_id')
      )
    await tokens.delete()
  })
}

/** Ends all API tokens of a user (disable, deletion). */
export async function revokeAllTokens(userId: string) {
  await deleteTokens({ userId })
}
