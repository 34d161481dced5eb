import db from '@adonisjs/lucid/services/db'
import { recordAudit } from '#platform'
import type User from '#auth/models/user'
import type { SecondFactor } from '#auth/services/totp'
import { useSecondFactor } from '#auth/actions/use_second_factor'
import { forgetUser } from '#auth/services/token_cache'

/**
 * Turns two-factor off after a valid TOTP or recovery code (the password is checked by the
 * caller): the secret and every recovery code are deleted. False when the code is not valid.
 */
export async function disableTwoFactor(user: User, factor: SecondFactor): Promise<boolean> {
  return db.transaction(async (trx) => {
    const method = await useSecondFactor(user, factor, { trx })
    if (!method) return false
    await trx.from('users').where('id', user.id).update({
      totp_secret_encrypted: null,
      totp_enabled_at: null,
      totp_last_step: null,
      updated_at: new Date(),
    })
    await trx.from('recovery_codes').where('user_id', user.id).delete()
    await forgetUser(user.id, trx)
    await recordAudit(
      {
        action: 'auth.2fa.disabled',
        actorId: user.id,
        actorLabel: user.email,
        subjectType: 'user',
        subjectId: user.id,
        changes: { verified_with: method },
      },
      trx
    )
    return true
  })
}
