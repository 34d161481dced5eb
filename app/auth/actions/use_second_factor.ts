import db from '@adonisjs/lucid/services/db'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import { recordAudit } from '#platform'
import type User from '#auth/models/user'
import {
  decryptTotpSecret,
  hashRecoveryCode,
  matchTotpStep,
  type SecondFactor,
} from '#auth/services/totp'

async function consume(
  trx: TransactionClientContract,
  user: User,
  factor: SecondFactor,
  now: number
) {
  if (factor.kind === 'totp') {
    const row = await trx
      .from('users')
      .where('id', user.id)
      .select('totp_secret_encrypted', 'totp_enabled_at')
      .first()
    if (!row?.totp_enabled_at) return null
    const secret = decryptTotpSecret(row.totp_secret_encrypted)
    const step = secret ? matchTotpStep(secret, factor.code, now) : null
    if (step === null) return null
    // Conditional update: of two concurrent submissions of one code, only one moves the step.
    const moved = await trx
      .from('users')
      .where('id', user.id)
      .whereNotNull('totp_enabled_at')
      .where((query) => query.whereNull('totp_last_step').orWhere('totp_last_step', '<', step))
      .update({ totp_last_step: step }, ['id'])
    return moved.length === 1 ? ('totp' as const) : null
  }
  const used = await trx
    .from('recovery_codes')
    .where('user_id', user.id)
    .where('code_hash', hashRecoveryCode(factor.code))
    .whereNull('used_at')
    .update({ used_at: new Date(now) }, ['id'])
  if (used.length !== 1) return null
  const [{ remaining }] = await trx
    .from('recovery_codes')
    .where('user_id', user.id)
    .whereNull('used_at')
    .count('* as remaining')
  await recordAudit(
    {
      action: 'auth.2fa.recovery_code_used',
      actorId: user.id,
      actorLabel: user.email,
      subjectType: 'user',
      subjectId: user.id,
      changes: { remaining: Number(remaining) },
    },
    trx
  )
  return 'recovery' as const
}

/**
 * Checks a second factor and uses it up: a TOTP step passes once (a replayed or older step is
 * refused), a recovery code passes once. Returns how the user proved it, or null. Runs in the
 * caller's transaction when given one (disabling two-factor verifies and disables together).
 */
export async function useSecondFactor(
  user: User,
  factor: SecondFactor,
  options: { trx?: TransactionClientContract; now?: number } = {}
): Promise<'totp' | 'recovery' | null> {
  const now = options.now ?? Date.now()
  return options.trx
    ? consume(options.trx, user, factor, now)
    : db.transaction((trx) => consume(trx, user, factor, now))
}
