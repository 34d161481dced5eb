import db from '@adonisjs/lucid/services/db'
import { recordAudit } from '#platform'
import type User from '#auth/models/user'
import { decryptTotpSecret, matchTotpStep } from '#auth/services/totp'
import { replaceRecoveryCodes } from '#auth/actions/regenerate_recovery_codes'
import { forgetUser } from '#auth/services/token_cache'

export type ConfirmTwoFactorResult =
  | { ok: true; recoveryCodes: string[] }
  | { ok: false; reason: 'not_started' | 'already_enabled' | 'invalid_code' }

/**
 * Finishes enrolment with a code from the new secret: turns two-factor on, remembers the code's
 * step (so it cannot be replayed at the next login) and issues the first recovery codes.
 */
export async function confirmTwoFactor(
  user: User,
  code: string,
  now = Date.now()
): Promise<ConfirmTwoFactorResult> {
  return db.transaction(async (trx) => {
    const row = await trx
      .from('users')
      .where('id', user.id)
      .forUpdate()
      .select('totp_secret_encrypted', 'totp_enabled_at')
      .first()
    if (row?.totp_enabled_at) return { ok: false, reason: 'already_enabled' as const }
    const secret = decryptTotpSecret(row?.totp_secret_encrypted)
    if (!secret) return { ok: false, reason: 'not_started' as const }
    const step = matchTotpStep(secret, code, now)
    if (step === null) return { ok: false, reason: 'invalid_code' as const }
    await trx
      .from('users')
      .where('id', user.id)
      .update({ totp_enabled_at: new Date(now), totp_last_step: step, updated_at: new Date() })
    await forgetUser(user.id, trx)
    const recoveryCodes = await replaceRecoveryCodes(trx, user.id)
    await recordAudit(
      {
        action: 'auth.2fa.enabled',
        actorId: user.id,
        actorLabel: user.email,
        subjectType: 'user',
        subjectId: user.id,
      },
      trx
    )
    return { ok: true, recoveryCodes }
  })
}
