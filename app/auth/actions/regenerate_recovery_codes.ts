import db from '@adonisjs/lucid/services/db'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import { recordAudit } from '#platform'
import type User from '#auth/models/user'
import { newRecoveryCodes } from '#auth/services/totp'

/** Replaces all of a user's recovery codes inside the caller's transaction; returns them for display once. */
export async function replaceRecoveryCodes(trx: TransactionClientContract, userId: string) {
  const codes = newRecoveryCodes()
  await trx.from('recovery_codes').where('user_id', userId).delete()
  await trx
    .table('recovery_codes')
    .multiInsert(codes.map((code) => ({ user_id: userId, code_hash: code.hash })))
  return codes.map((code) => code.display)
}

/** New recovery codes for a user with two-factor on (the old ones stop working); null when it is off. */
export async function regenerateRecoveryCodes(user: User): Promise<string[] | null> {
  return db.transaction(async (trx) => {
    const row = await trx
      .from('users')
      .where('id', user.id)
      .forUpdate()
      .select('totp_enabled_at')
      .first()
    if (!row?.totp_enabled_at) return null
    const codes = await replaceRecoveryCodes(trx, user.id)
    await recordAudit(
      {
        action: 'auth.2fa.recovery_codes_regenerated',
        actorId: user.id,
        actorLabel: user.email,
        subjectType: 'user',
        subjectId: user.id,
      },
      trx
    )
    return codes
  })
}
