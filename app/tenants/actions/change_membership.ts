import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import { recordAudit } from '#platform'
import { revokeTokensForTenant } from '#auth'
import { DomainException } from '#core'
import Membership from '#tenants/models/membership'
import { withTenant } from '#tenants/services/tenancy'
import type { Role } from '#tenants/roles'

/** A membership change the workspace's rules refuse (the last owner leaving): 409. */
export class MembershipRuleError extends DomainException {
  constructor(message: string) {
    super(message, { status: 409, code: 'E_MEMBERSHIP_RULE' })
  }
}

/**
 * Serialises changes to a tenant's memberships (role changes, removals, ownership transfers):
 * two owners stepping down at once cannot both pass the "last owner" check, and crossing row
 * locks cannot deadlock.
 */
export async function lockMemberships(tenantId: string, trx: TransactionClientContract) {
  await trx.rawQuery(`SELECT pg_advisory_xact_lock(hashtext(?))`, [
    `tenants.memberships:${tenantId}`,
  ])
}

async function ownerCount(tenantId: string, trx: TransactionClientContract) {
  const owners = await trx
    .from('memberships')
    .where('tenant_id', tenantId)
    .where('role', 'owner')
    .forUpdate()
    .select('id')
  return owners.length
}

/** Changes a member's role; the last owner can never be demoted. */
export async function changeRole(input: {
  tenantId: string
  membershipId: string
  role: Role
  actorId: string
}) {
  return withTenant(input.tenantId, async (trx) => {
    await lockMemberships(input.tenantId, trx)
    const target = await Membership.query({ client: trx })
      .where('tenantId', input.tenantId)
      .where('id', input.membershipId)
      .forUpdate()
      .firstOrFail()
    if (target.role === input.role) return target
    if (target.role === 'owner' && (await ownerCount(input.tenantId, trx)) <= 1) {
      throw new MembershipRuleError(
        'A workspace needs at least one owner: make someone else owner first.'
      )
    }
    const before = target.role
    target.role = input.role
    await target.save()
    await recordAudit(
      {
        action: 'tenants.membership.role_changed',
        actorId: input.actorId,
        tenantId: input.tenantId,
        subjectType: 'membership',
        subjectId: target.id,
        changes: { role: [before, input.role], user_id: target.userId },
      },
      trx
    )
    return target
  })
}

/**
 * Removes a member (or lets one leave): their API tokens for this workspace are deleted in the
 * same transaction, so access ends at once. The last owner cannot leave.
 */
export async function removeMember(input: {
  tenantId: string
  membershipId: string
  actorId: string
}) {
  return withTenant(input.tenantId, async (trx) => {
    await lockMemberships(input.tenantId, trx)
    const target = await Membership.query({ client: trx })
      .where('tenantId', input.tenantId)
      .where('id', input.membershipId)
      .forUpdate()
      .firstOrFail()
    if (target.role === 'owner' && (await ownerCount(input.tenantId, trx)) <= 1) {
      throw new MembershipRuleError(
        'The last owner cannot leave: transfer ownership or delete the workspace.'
      )
    }
    await target.useTransaction(trx).delete()
    await revokeTokensForTenant(target.userId, input.tenantId, trx)
    await recordAudit(
      {
        action: 'tenants.membership.removed',
        actorId: input.actorId,
        tenantId: input.tenantId,
        subjectType: 'membership',
        subjectId: target.id,
        changes: { user_id: target.userId, role: target.role },
      },
      trx
    )
    return target
  })
}
