import type { HttpContext } from '@adonisjs/core/http'
import { DateTime } from 'luxon'
import { recordAudit } from '#platform'
import User from '#auth/models/user'
import UserSession from '#auth/models/user_session'
import { SESSION_KEYS } from '#auth/services/sessions'
import { ForbiddenException } from '#auth/services/api_access'
import { cachedUserFacts, forgetSessions } from '#auth/services/token_cache'

/** What the impersonated session remembers of the admin behind it. */
export type Impersonator = { id: string; email: string; sessionId: string | null }
export const IMPERSONATOR_KEY = 'auth.impersonator'

/**
 * Whether an impersonated session may go on: its admin must still be an enabled platform admin
 * (disabling or demoting them ends every session they impersonate, on its next request).
 */
export async function impersonationValid(ctx: HttpContext) {
  const impersonator = impersonatorOf(ctx)
  if (!impersonator) return true
  const admin = await cachedUserFacts(impersonator.id)
  return Boolean(admin?.platform_admin && !admin.disabled_at)
}

/** The admin acting as the signed-in user in this browser, if any. */
export function impersonatorOf(ctx: HttpContext): Impersonator | null {
  try {
    return (ctx.session?.get(IMPERSONATOR_KEY) as Impersonator | undefined) ?? null
  } catch {
    return null
  }
}

/**
 * Signs `user` in on a fresh session: nothing of the previous one carries over (regenerate()
 * keeps the data; a recent password confirmation must not pass from admin to user or back).
 */
async function startSession(ctx: HttpContext, user: User) {
  ctx.session.clear()
  await ctx.auth.use('web').login(user)
  ctx.session.regenerate()
  const record = await UserSession.create({
    userId: user.id,
    ip: ctx.request.ip(),
    userAgent: ctx.request.header('user-agent')?.slice(0, 512) ?? null,
    remembered: false,
    rememberTokenId: null,
    lastSeenAt: DateTime.now(),
  })
  const now = Date.now()
  ctx.session.put(SESSION_KEYS.record, record.id)
  ctx.session.put(SESSION_KEYS.startedAt, now)
  ctx.session.put(SESSION_KEYS.seenAt, now)
  return record
}

/**
 * A platform admin signs in as another user (support): this browser's session becomes the
 * user's, with the admin remembered beside it (a banner shows it on every page, and every audit
 * record names both). Another platform admin or a disabled account cannot be impersonated.
 * Recent-password confirmation is not carried over, so sensitive account changes stay closed.
 */
export async function startImpersonation(ctx: HttpContext, admin: User, target: User) {
  if (target.platformAdmin || target.disabledAt || target.id === admin.id)
    throw new ForbiddenException('This account cannot be impersonated.', {
      status: 403,
      code: 'E_FORBIDDEN',
    })
  const adminSession = (ctx.session.get(SESSION_KEYS.record) as string | undefined) ?? null
  await recordAudit({
    action: 'auth.impersonation.started',
    actorId: admin.id,
    actorLabel: admin.email,
    impersonatorId: admin.id,
    subjectType: 'user',
    subjectId: target.id,
    changes: { user: target.email },
  })
  await startSession(ctx, target)
  ctx.session.put(IMPERSONATOR_KEY, { id: admin.id, email: admin.email, sessionId: adminSession })
}

/** Ends an impersonation: the impersonated session row is revoked, the admin is signed back in. */
export async function endImpersonation(ctx: HttpContext) {
  const impersonator = impersonatorOf(ctx)
  const user = ctx.auth.user as User | undefined
  if (!impersonator || !user) return false
  const recordId = ctx.session.get(SESSION_KEYS.record) as string | undefined
  if (recordId) {
    await UserSession.query().where('id', recordId).update({ revokedAt: DateTime.now() })
    await forgetSessions([recordId])
  }
  await recordAudit({
    action: 'auth.impersonation.ended',
    actorId: impersonator.id,
    actorLabel: impersonator.email,
    impersonatorId: impersonator.id,
    subjectType: 'user',
    subjectId: user.id,
    changes: { user: user.email },
  })
  const admin = await User.find(impersonator.id)
  if (!admin || admin.disabledAt || !admin.platformAdmin) {
    await ctx.auth.use('web').logout()
    ctx.session.clear()
    return true
  }
  const restored = impersonator.sessionId ? await UserSession.find(impersonator.sessionId) : null
  ctx.session.clear()
  await ctx.auth.use('web').login(admin)
  ctx.session.regenerate()
  if (restored && !restored.revokedAt && restored.userId === admin.id) {
    const now = Date.now()
    ctx.session.put(SESSION_KEYS.record, restored.id)
    ctx.session.put(SESSION_KEYS.startedAt, now)
    ctx.session.put(SESSION_KEYS.seenAt, now)
  } else await startSession(ctx, admin)
  return true
}
