import db from '@adonisjs/lucid/services/db'
import type { QueryClientContract } from '@adonisjs/lucid/types/database'
import type { Role } from '#tenants/roles'

/**
 * The name and email of those of `userIds` who are members of the tenant (a former member or a
 * foreign id names nobody): one statement, for pages that show people by id (the ledger).
 */
export async function memberNames(
  tenantId: string,
  userIds: string[],
  client?: QueryClientContract
) {
  const found = new Map<string, { name: string; email: string }>()
  if (!userIds.length) return found
  const rows = await (client ?? db)
    .from('memberships')
    .join('users', 'users.id', 'memberships.user_id')
    .where('memberships.tenant_id', tenantId)
    .whereIn('users.id', [...new Set(userIds)])
    .select('users.id', 'users.name', 'users.email')
  for (const row of rows) found.set(row.id, { name: row.name || row.email, email: row.email })
  return found
}

/**
 * The members of a tenant with one of `roles`, plus `userId` while still a member (who to tell
 * about money): ids and emails, one statement, on `client` (a tenant-bound transaction).
 */
export async function memberContacts(
  tenantId: string,
  { roles, userId = null }: { roles: Role[]; userId?: string | null },
  client?: QueryClientContract
) {
  const rows = await (client ?? db)
    .from('memberships')
    .join('users', 'users.id', 'memberships.user_id')
    .where('memberships.tenant_id', tenantId)
    .where((q) => {
      q.whereIn('memberships.role', roles)
      if (userId) q.orWhere('memberships.user_id', userId)
    })
    .select('users.id', 'users.email')
  return rows.map((row) => ({ userId: row.id as string, email: row.email as string }))
}
