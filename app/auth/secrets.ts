/* APP_KEY rotation for two-factor secrets (see registerSecretRewrap in #core). */
import db from '@adonisjs/lucid/services/db'
import { registerSecretRewrap } from '#core'
import { forgetUser } from '#auth/services/token_cache'

registerSecretRewrap('two-factor secrets', async (reseal) => {
  let resealed = 0
  let unreadable = 0
  const rows = await db
    .from('users')
    .whereNotNull('totp_secret_encrypted')
    .select('id', 'totp_secret_encrypted')
  for (const row of rows) {
    const again = reseal(row.totp_secret_encrypted, 'auth.totp_secret')
    if (!again) {
      unreadable++
      continue
    }
    // Compare-and-set: a secret re-enrolled meanwhile is left alone (it is already current).
    const changed = await db.rawQuery(
      `UPDATE users SET totp_secret_encrypted = ? WHERE id = ? AND totp_secret_encrypted = ?`,
      [again, row.id, row.totp_secret_encrypted]
    )
    await forgetUser(row.id)
    if (changed.rowCount) resealed++
  }
  return { resealed, unreadable }
})
