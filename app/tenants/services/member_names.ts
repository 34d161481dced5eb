import db from '@adonisjs/lucid/services/db'

/**
 * The name and email of those of `userIds` who are members of the tenant (a former member or a
 * foreign id names nobody): one statement, for pages that show people by id (the ledger).
 */
export async function memberNames(tenantId: string, userIds: string[]) {
  const found = new Map<string, { name: string; email: string }>()
  if (!userIds.length) return found
  const rows = await db
    .from('memberships')
    .join('users', 'users.id', 'memberships.user_id')
    .where('memberships.tenant_id', tenantId)
    .whereIn('users.id', [...new Set(userIds)])
    .select('users.id', 'users.name', 'users.email')
  for (const row of rows) found.set(row.id, { name: row.name || row.email, email: row.email })
  return found
}
