import { recordAudit } from '#platform'
import { isUuid } from '#core'
import Membership from '#tenants/models/membership'
import { withTenant } from '#tenants/services/tenancy'
import { lockMemberships, MembershipRuleError } from '#tenants/actions/change_membership'

/**
 * Hands ownership from an owner to another member in one transaction: the member becomes owner,
 * the previous owner admin. Null when the target is not a member of this tenant.
 */
export async function transferOwnership(input: {
  tenantId: string
  fromMembershipId: string
  toMembershipId: string
  actorId: string
}) {
  if (!isUuid(input.toMembershipId)) return null
  return withTenant(input.tenantId, async (trx) => {
    await lockMemberships(input.tenantId, trx)
    const rows = await Membership.query({ client: trx })
      .where('tenantId', input.tenantId)
      .whereIn('id', [input.fromMembershipId, input.toMembershipId])
      .orderBy('id')
      .forUpdate()
    const from = rows.find((row) => row.id === input.fromMembershipId)
    const to = rows.find((row) => row.id === input.toMembershipId)
    if (!to) return null
    if (!from || from.role !== 'owner')
      throw new MembershipRuleError('Only an owner can transfer ownership.')
    if (from.id === to.id) throw new MembershipRuleError('Choose another member to become owner.')
    const previousRole = to.role
    to.role = 'owner'
    from.role = 'admin'
    await to.useTransaction(trx).save()
    await from.useTransaction(trx).save()
    await recordAudit(
      {
        action: 'tenants.ownership.transferred',
        actorId: input.actorId,
        tenantId: input.tenantId,
        subjectType: 'membership',
        subjectId: to.id,
        changes: {
          from_user_id: from.userId,
          to_user_id: to.userId,
          to_role: [previousRole, 'owner'],
          from_role: ['owner', 'admin'],
        },
      },
      trx
    )
    return { from, to }
  })
}
