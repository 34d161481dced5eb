import db from '@adonisjs/lucid/services/db'
import { keysetRows } from '#core'

/** The API tokens bound to a tenant, for its data export: never their hashes. */
export function tenantApiTokenRows(tenantId: string) {
  return keysetRows(() =>
    db
      .from('auth_access_tokens')
      .where('tenant_id', tenantId)
      .select(
        'id',
        'tokenable_id as user_id',
        'name',
        'abilities',
        'created_at',
        'last_used_at',
        'expires_at'
      )
  )
}
