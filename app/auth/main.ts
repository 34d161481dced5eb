/**
 * auth — GLOBAL identity (not tenant-scoped): users, sessions, passwords, API tokens, two-factor,
 * platform admins. This file is the module's ONE public door: import `#auth`, never `#auth/...`.
 */
import db from '@adonisjs/lucid/services/db'
import type { QueryClientContract } from '@adonisjs/lucid/types/database'
import type { ChainableContract } from '@adonisjs/lucid/types/querybuilder'
import { weeklyCreated } from '#core'

export { default as User } from '#auth/models/user'
export { default as UserSignedUp } from '#auth/events/user_signed_up'
export { API_ABILITIES, type ApiAbility } from '#auth/abilities'
export { tokenAbilities, tokenTenantId, ForbiddenException } from '#auth/services/api_access'
export {
  createApiToken,
  revokeApiToken,
  revokeTokensForTenant,
} from '#auth/actions/create_api_token'
export { registerDeletionGuard, registerTokenTenantOptions } from '#auth/services/hooks'
export { revokeAllTokens } from '#auth/services/sessions'
export { setUserDisabled, resetTwoFactor } from '#auth/actions/manage_users'
export { startImpersonation, endImpersonation, impersonatorOf } from '#auth/actions/impersonate'
/** Short-lived caches of plain rows whose deletes reach every process within 1 s (tenants uses them too). */
export { FactCache, toFacts, hydrate, type Facts } from '#auth/services/fact_cache'
export { userHasTwoFactor } from '#auth/services/totp'
export { passwordProblem } from '#auth/services/password_policy'
export { tenantApiTokenRows } from '#auth/services/tenant_rows'
export { requestWait } from '#auth/services/brute_force'
export { insertBenchUsers } from '#auth/services/bench_users'
import '#auth/services/metrics_access'
import '#auth/secrets'

/** New accounts per ISO week since `since` (platform analytics). */
export function usersCreatedPerWeek(since: Date) {
  return weeklyCreated(db, 'users', since)
}

/**
 * The id of the user with this email address (case-insensitive) among `among` (a subquery of
 * user ids), on `client` when given (a caller's transaction).
 */
export async function userIdByEmail(
  email: string,
  among: ChainableContract,
  client?: QueryClientContract
): Promise<string | null> {
  const row = await (client ?? db)
    .from('users')
    .whereIn('id', among)
    .whereRaw('lower(email) = lower(?)', [email])
    .select('id')
    .first()
  return row?.id ?? null
}

/** Users among `among` (a subquery of user ids) whose email or name contains `typed` literally. */
function matching(typed: string, among: ChainableContract) {
  const pattern = `%${typed.replace(/[%_\\]/g, '\\$&')}%`
  return db
    .from('users')
    .whereIn('id', among)
    .where((q) => q.whereILike('email', pattern).orWhereILike('name', pattern))
}

/**
 * Up to `limit` users among `among` (a subquery of user ids) whose email or name contains
 * `typed`, shortest email first (for pickers that suggest as the user types).
 */
export function usersMatching(typed: string, among: ChainableContract, limit = 10) {
  return matching(typed, among)
    .orderByRaw('length(email), email')
    .limit(limit)
    .select('id', 'email', 'name') as Promise<{ id: string; email: string; name: string | null }[]>
}

/**
 * A subquery of the ids of users among `among` whose email or name contains `typed`: for the
 * caller's own query to filter and page by (`whereIn`), so a search never loads every member.
 */
export function userIdsMatching(typed: string, among: ChainableContract): ChainableContract {
  return matching(typed, among).select('id')
}

/** What other modules may show of a user. */
export type UserCard = { id: string; name: string; email: string; twoFactor: boolean }

/**
 * The users among `among` (a subquery or a list of user ids), in no order, on `client` when
 * given (a tenant-bound transaction: only the columns row-level security lets it read).
 */
export async function usersAmong(
  among: ChainableContract | string[],
  client?: QueryClientContract
): Promise<UserCard[]> {
  if (Array.isArray(among) && !among.length) return []
  const rows = await (client ?? db)
    .from('users')
    .whereIn('id', among as ChainableContract)
    .select('id', 'name', 'email', 'totp_enabled_at')
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    email: row.email,
    twoFactor: row.totp_enabled_at !== null,
  }))
}
