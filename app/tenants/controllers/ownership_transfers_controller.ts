import type { HttpContext } from '@adonisjs/core/http'
import { NotFoundException, onRefusal, urlFor } from '#core'
import { userIdByEmail } from '#auth'
import { transferOwnership } from '#tenants/actions/transfer_ownership'
import { ownershipTransferValidator } from '#tenants/validators/tenants'
import { assertWritable, authorize, currentTenant, scoped } from '#tenants/services/tenancy'
import Membership from '#tenants/models/membership'

/** POST /t/:tenant/ownership-transfers: an owner hands ownership to another member. */
export default class OwnershipTransfersController {
  async store(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'members.manage_owners')
    assertWritable(ctx)
    onRefusal(ctx, { redirect: urlFor('tenants.members.index', { tenant: tenant.slug }) })
    const input = await ctx.request.validateUsing(ownershipTransferValidator)
    const userId = input.email
      ? await userIdByEmail(input.email, scoped(tenant, Membership).select('memberships.user_id'))
      : null
    const byEmail = userId
      ? await scoped(tenant, Membership).where('memberships.user_id', userId).first()
      : null
    const toMembershipId = input.membership_id ?? byEmail?.id ?? ''
    const result = await transferOwnership({
      tenantId: tenant.id,
      fromMembershipId: membership.id,
      toMembershipId,
      actorId: membership.userId,
    })
    if (!result) throw new NotFoundException('Choose a member of this workspace.')
    ctx.session.flash('success', 'Ownership transferred: you are now an admin of this workspace.')
    return ctx.response.redirect(urlFor('tenants.members.index', { tenant: tenant.slug }))
  }
}
