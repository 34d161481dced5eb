import db from '@adonisjs/lucid/services/db'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import { FactCache, toFacts } from '#auth'

/**
 * Tenant and membership rows for API requests, cached so that a warm request costs no query.
 * The models' update and delete hooks forget them (suspension, rename, role change, removal).
 */
const facts = new FactCache('tenants')
const tenantKey = (tenantId: string) => `tenant:${tenantId}`
const membershipKey = (tenantId: string, userId: string) => `membership:${tenantId}:${userId}`

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

/** Forgets a tenant's row in every process, after `trx` commits when given. */
export function forgetTenant(tenantId: string, trx?: TransactionClientContract | null) {
  return facts.forgetAfterCommit([tenantKey(tenantId)], trx)
}

/** Forgets a membership in every process, after `trx` commits when given. */
export function forgetMembership(
  tenantId: string,
  userId: string,
  trx?: TransactionClientContract | null
) {
  return facts.forgetAfterCommit([membershipKey(tenantId, userId)], trx)
}
