/*
 * APP_KEY rotation for provider credentials: API keys and sealed header values are re-sealed
 * under the current key (see registerSecretRewrap in #core).
 */
import db from '@adonisjs/lucid/services/db'
import { registerSecretRewrap } from '#core'
import { invalidateCatalog } from '#agents/services/catalog'

registerSecretRewrap('provider credentials', async (reseal) => {
  let resealed = 0
  let unreadable = 0
  const rows = await db.from('providers').select('id', 'tenant_id', 'api_key_encrypted', 'settings')
  for (const row of rows) {
    const changes: Record<string, unknown> = {}
    if (row.api_key_encrypted) {
      const key = reseal(row.api_key_encrypted, 'provider-api-key')
      if (key) changes.api_key_encrypted = key
      else unreadable++
    }
    const sealed: Record<string, string> = row.settings?.sealed_headers ?? {}
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(sealed)) {
      const again = reseal(value, 'provider-header')
      if (again) headers[name] = again
      else {
        headers[name] = value
        unreadable++
      }
    }
    if (Object.keys(sealed).length)
      changes.settings = JSON.stringify({ ...row.settings, sealed_headers: headers })
    if (!Object.keys(changes).length) continue
    // Compare-and-set on what was read: a key or header changed meanwhile is already current.
    const changed = await db.rawQuery(
      `UPDATE providers SET api_key_encrypted = ?, settings = ?::jsonb, updated_at = now()
        WHERE id = ? AND api_key_encrypted IS NOT DISTINCT FROM ? AND settings = ?::jsonb`,
      [
        changes.api_key_encrypted ?? row.api_key_encrypted,
        changes.settings ?? JSON.stringify(row.settings),
        row.id,
        row.api_key_encrypted,
        JSON.stringify(row.settings),
      ]
    )
    if (!changed.rowCount) continue
    resealed++
    await invalidateCatalog(row.tenant_id)
  }
  return { resealed, unreadable }
})
