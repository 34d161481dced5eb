import type { HttpContext } from '@adonisjs/core/http'
import { NotFoundException, onRefusal, urlFor } from '#core'
import type { User } from '#auth'
import { createInvitation, renewInvitation, revokeInvitation } from '#tenants/actions/invitations'
import { invitationValidator } from '#tenants/validators/tenants'
import { assertWritable, authorize, currentTenant } from '#tenants/services/tenancy'

/** Invitations of the current workspace: invite, resend (a new link), revoke. */
export default class InvitationsController {
  async store(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'members.manage')
    assertWritable(ctx)
    onRefusal(ctx, { redirect: urlFor('tenants.members.index', { tenant: tenant.slug }) })
    const input = await ctx.request.validateUsing(invitationValidator)
    await createInvitation({
      tenant,
      email: input.email,
      role: input.role,
      inviter: ctx.auth.user as User,
      clientIp: ctx.request.ip(),
    })
    ctx.session.flash('success', `Invitation sent to ${input.email.trim().toLowerCase()}.`)
    return ctx.response.redirect(urlFor('tenants.members.index', { tenant: tenant.slug }))
  }

  /** POST …/invitations/:id/renewal: a new token and expiry, sent again. */
  async renew(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'members.manage')
    assertWritable(ctx)
    onRefusal(ctx, { redirect: urlFor('tenants.members.index', { tenant: tenant.slug }) })
    const invitation = await renewInvitation({
      tenant,
      invitationId: String(ctx.params.id),
      actor: ctx.auth.user as User,
      clientIp: ctx.request.ip(),
    })
    if (!invitation) throw new NotFoundException()
    ctx.session.flash(
      'success',
      `Invitation sent again to ${invitation.email}; the previous link no longer works.`
    )
    return ctx.response.redirect(urlFor('tenants.members.index', { tenant: tenant.slug }))
  }

  async destroy(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'members.manage')
    assertWritable(ctx)
    onRefusal(ctx, { redirect: urlFor('tenants.members.index', { tenant: tenant.slug }) })
    const invitation = await revokeInvitation({
      tenantId: tenant.id,
      invitationId: String(ctx.params.id),
      actorId: membership.userId,
    })
    if (!invitation) throw new NotFoundException()
    ctx.session.flash('success', `Invitation to ${invitation.email} revoked.`)
    return ctx.response.redirect(urlFor('tenants.members.index', { tenant: tenant.slug }))
  }
}
