import type { HttpContext } from '@adonisjs/core/http'
import { User } from '#auth'
import { isUuid } from '#core'
import Membership from '#tenants/models/membership'
import { changeRole, MembershipRuleError, removeMember } from '#tenants/actions/change_membership'
import { roleValidator } from '#tenants/validators/tenants'
import { assertWritable, authorize, currentTenant } from '#tenants/services/tenancy'

/** Members of the current workspace: list, change role, remove (or leave). */
export default class MembersController {
  async index(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'members.read')
    const memberships = await Membership.query().where('tenantId', tenant.id).orderBy('createdAt')
    const users = await User.query().whereIn('id', memberships.map((m) => m.userId))
    const byId = new Map(users.map((u) => [u.id, u]))
    const members = memberships.map((m) => ({ membership: m, user: byId.get(m.userId)! }))
    return ctx.view.render('tenants::pages/members', { members })
  }

  async update(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'members.manage')
    assertWritable(ctx)
    const { role } = await ctx.request.validateUsing(roleValidator)
    const target = await this.#target(ctx)
    if (!target) return ctx.response.notFound('Member not found')
    // Only owners may grant or take away ownership.
    if ((role === 'owner' || target.role === 'owner') && membership.role !== 'owner') authorize(ctx, 'members.manage_owners')
    try {
      await changeRole({ tenantId: tenant.id, membershipId: target.id, role, actorId: membership.userId })
      ctx.session.flash('success', 'Role updated.')
    } catch (error) {
      if (!(error instanceof MembershipRuleError)) throw error
      ctx.session.flash('error', error.message)
    }
    return ctx.response.redirect(`/t/${tenant.slug}/members`)
  }

  async destroy(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    const target = await this.#target(ctx)
    if (!target) return ctx.response.notFound('Member not found')
    const leaving = target.id === membership.id
    if (!leaving) {
      authorize(ctx, 'members.manage')
      if (target.role === 'owner') authorize(ctx, 'members.manage_owners')
    }
    try {
      await removeMember({ tenantId: tenant.id, membershipId: target.id, actorId: membership.userId })
    } catch (error) {
      if (!(error instanceof MembershipRuleError)) throw error
      ctx.session.flash('error', error.message)
      return ctx.response.redirect(`/t/${tenant.slug}/members`)
    }
    ctx.session.flash('success', leaving ? `You left ${tenant.name}.` : 'Member removed.')
    return ctx.response.redirect(leaving ? '/home' : `/t/${tenant.slug}/members`)
  }

  #target(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    return isUuid(ctx.params.id) ? Membership.query().where('tenantId', tenant.id).where('id', ctx.params.id).first() : null
  }
}
