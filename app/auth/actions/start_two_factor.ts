import db from '@adonisjs/lucid/services/db'
import type User from '#auth/models/user'
import { encryptTotpSecret, newTotpSecret } from '#auth/services/totp'

/**
 * Starts (or restarts) enrolment: a fresh secret, encrypted at rest, not enabled until a code
 * from it is confirmed. Null while two-factor is already on (disable it first).
 */
export async function startTwoFactor(user: User): Promise<{ secret: string } | null> {
  const secret = newTotpSecret()
  const rows = await db
    .from('users')
    .where('id', user.id)
    .whereNull('totp_enabled_at')
    .update(
      {
        totp_secret_encrypted: encryptTotpSecret(secret),
        totp_last_step: null,
        updated_at: new Date(),
      },
      ['id']
    )
  return rows.length === 1 ? { secret } : null
}
