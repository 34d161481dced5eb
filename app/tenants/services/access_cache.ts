import db from '@adonisjs/lucid/services/db'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import { FactCache, toFacts } from '#auth'

/**
 * Tenant and membership rows for API requests and tenant pages, cached so that a warm request
 * costs no query: the tenant by id (and its id by slug), the membership, and the ids of a
 * user's workspaces (the switcher). The models' hooks forget them (suspension, rename, role
 * change, removal, a new membership, deletion) in every process.
 */
const facts = new FactCache('tenants')
const tenantKey = (tenantId: string) => `tenant:${tenantId}`
const membershipKey = (tenantId: string, userId: string) => `membership:${tenantId}:${userId}`
const slugKey = (slug: string) => `slug:${slug}`
const tenantsOfKey = (userId: string) => `tenants-of:${userId}`

/** The id of the tenant with this slug (slugs never change; a deleted tenant's is forgotten). */
export async function cachedTenantIdBySlug(slug: string) {
  const facts_ = await facts.get(slugKey(slug), async () => {
    const row = await db.from('tenants').where('slug', slug).select('id').first()
    return row ? { id: row.id as string } : null
  })
  return (facts_?.id as string | undefined) ?? null
}

/** The ids of the tenants a user belongs to (the workspace switcher). */
export async function cachedTenantIdsOf(userId: string): Promise<string[]> {
  const facts_ = await facts.get(tenantsOfKey(userId), async () => {
    const rows = await db.from('memberships').where('user_id', userId).select('tenant_id')
    return { ids: rows.map((row) => row.tenant_id as string).join(',') }
  })
  const ids = String(facts_?.ids ?? '')
  return ids ? ids.split(',') : []
}

export function cachedTenantFacts(tenantId: string) {
  return facts.get(tenantKey(tenantId), async () => {
    const row = await db.from('tenants').where('id', tenantId).first()
    return row ? toFacts(row) : null
  })
}

export function cachedMembershipFacts(tenantId: string, userId: string) {
  return facts.get(membershipKey(tenantId, userId), async () => {
    const row = await db.from('memberships').where({ tenant_id: tenantId, user_id: userId }).first()
    return row ? toFacts(row) : null
  })
}

/** Forgets a tenant's row (and its slug) in every process, after `trx` commits when given. */
export function forgetTenant(
  tenantId: string,
  trx?: TransactionClientContract | null,
  slug?: string
) {
  return facts.forgetAfterCommit([tenantKey(tenantId), ...(slug ? [slugKey(slug)] : [])], trx)
}

/** Forgets a membership in every process, after `trx` commits when given. */
export function forgetMembership(
  tenantId: string,
  userId: string,
  trx?: TransactionClientContract | null
) {
  return facts.forgetAfterCommit([membershipKey(tenantId, userId), tenantsOfKey(userId)], trx)
}
