import db from '@adonisjs/lucid/services/db'
import type { QueryClientContract } from '@adonisjs/lucid/types/database'
import { usersAmong } from '#auth'
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
  const members = (client ?? db)
    .from('memberships')
    .where('memberships.tenant_id', tenantId)
    .whereIn('memberships.user_id', [...new Set(userIds)])
    .select('memberships.user_id')
  for (const user of await usersAmong(members, client))
    found.set(user.id, { name: user.name || user.email, email: user.email })
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
  const members = (client ?? db)
    .from('memberships')
    .where('memberships.tenant_id', tenantId)
    .where((q) => {
      q.whereIn('memberships.role', roles)
      if (userId) q.orWhere('memberships.user_id', userId)
    })
    .select('memberships.user_id')
  const users = await usersAmong(members, client)
  return users.map((user) => ({ userId: user.id, email: user.email }))
}
