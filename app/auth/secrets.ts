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
    await db.from('users').where('id', row.id).update({ totp_secret_encrypted: again })
    await forgetUser(row.id)
    resealed++
  }
  return { resealed, unreadable }
})
