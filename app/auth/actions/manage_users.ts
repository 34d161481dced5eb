import db from '@adonisjs/lucid/services/db'
import { recordAudit } from '#platform'
import User from '#auth/models/user'
import { revokeAllTokens, revokeSessions } from '#auth/services/sessions'
import { forgetUser } from '#auth/services/token_cache'

type Actor = { actorId: string; actorLabel?: string | null }

/**
 * A platform admin disables (or re-enables) an account. Disabling ends every session, remember-me
 * token and API token at once; the account cannot sign in until enabled again. Audited.
 */
export async function setUserDisabled(userId: string, disabled: boolean, actor: Actor) {
  const user = await User.findOrFail(userId)
  if (disabled === (user.disabledAt !== null)) return user
  await db.transaction(async (trx) => {
    await trx
      .from('users')
      .where('id', userId)
      .update({ disabled_at: disabled ? new Date() : null, updated_at: new Date() })
    await forgetUser(userId, trx)
    await recordAudit(
      {
        action: disabled ? 'auth.user.disabled' : 'auth.user.enabled',
        actorId: actor.actorId,
        actorLabel: actor.actorLabel ?? null,
        subjectType: 'user',
        subjectId: userId,
        changes: { email: user.email },
      },
      trx
    )
  })
  if (disabled) {
    await revokeSessions(userId)
    await revokeAllTokens(userId)
  }
  return User.findOrFail(userId)
}

/** A platform admin removes a user's two-factor (a lost device): secret and recovery codes. */
export async function resetTwoFactor(userId: string, actor: Actor) {
  const user = await User.findOrFail(userId)
  await db.transaction(async (trx) => {
    await trx.from('users').where('id', userId).update({
      totp_secret_encrypted: null,
      totp_enabled_at: null,
      totp_last_step: null,
      updated_at: new Date(),
    })
    await trx.from('recovery_codes').where('user_id', userId).delete()
    await forgetUser(userId, trx)
    await recordAudit(
      {
        action: 'auth.2fa.reset',
        actorId: actor.actorId,
        actorLabel: actor.actorLabel ?? null,
        subjectType: 'user',
        subjectId: userId,
        changes: { email: user.email },
      },
      trx
    )
  })
}
