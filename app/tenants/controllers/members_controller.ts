import type { HttpContext } from '@adonisjs/core/http'
import db from '@adonisjs/lucid/services/db'
import { isUuid, NotFoundException, onRefusal, urlFor } from '#core'
import { userIdsMatching, usersAmong } from '#auth'
import Membership from '#tenants/models/membership'
import Invitation from '#tenants/models/invitation'
import { changeRole, removeMember } from '#tenants/actions/change_membership'
import { roleValidator } from '#tenants/validators/tenants'
import { assertWritable, authorize, currentTenant, scoped } from '#tenants/services/tenancy'
import { roleAllows, INVITABLE_ROLES } from '#tenants/roles'

const MEMBERS_PAGE = 50

/** Members of the current workspace: list (with pending invitations), change role, remove (or leave). */
export default class MembersController {
  async index(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'members.read')
    const canManage = roleAllows(membership.role, 'members.manage')
    // A page of members (searchable), never the whole workspace: 500 members cost what 5 do.
    const q = String(ctx.request.input('q') ?? '')
      .trim()
      .slice(0, 100)
    const pageNumber = Math.min(Math.max(Number(ctx.request.input('page')) || 1, 1), 10_000)
    // Plain rows with the columns shown: a page of members costs no model hydration. The page
    // is chosen here (memberships order); auth then names just that page's people.
    const query = db
      .from('memberships')
      .where('memberships.tenant_id', tenant.id)
      .select('memberships.id', 'memberships.role', 'memberships.user_id')
      .orderBy('memberships.created_at')
      .orderBy('memberships.id')
      .offset((pageNumber - 1) * MEMBERS_PAGE)
      .limit(MEMBERS_PAGE + 1)
    if (q) {
      const members = db.from('memberships').where('tenant_id', tenant.id).select('user_id')
      query.whereIn('memberships.user_id', userIdsMatching(q, members))
    }
    const rows = await query
    const shown = rows.slice(0, MEMBERS_PAGE)
    const users = new Map(
      (await usersAmong(shown.map((row) => row.user_id as string))).map((user) => [user.id, user])
    )
    // Invitees' addresses are for the people who manage members only.
    const invitations = canManage
      ? await scoped(tenant, Invitation)
          .whereNull('acceptedAt')
          .whereNull('revokedAt')
          .orderBy('createdAt', 'desc')
          .limit(200)
      : []
    // A user deleted between the two reads has no membership left either: skip the row.
    const members = shown.flatMap((row) => {
      const user = users.get(row.user_id)
      if (!user) return []
      const { name, email, twoFactor } = user
      return [
        {
          membership: { id: row.id as string, role: row.role as string },
          user: { name, email, twoFactor },
        },
      ]
    })
    const pageUrl = (page: number) =>
      urlFor(
        'tenants.members.index',
        { tenant: tenant.slug },
        { qs: { ...(q ? { q } : {}), page } }
      )
    return ctx.view.render('tenants::pages/members', {
      members,
      invitations,
      canManage,
      invitableRoles: INVITABLE_ROLES,
      q,
      previousUrl: pageNumber > 1 ? pageUrl(pageNumber - 1) : null,
      nextUrl: rows.length > MEMBERS_PAGE ? pageUrl(pageNumber + 1) : null,
      memberOptionsUrl: urlFor('tenants.member_options.index', { tenant: tenant.slug }),
    })
  }

  async update(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    onRefusal(ctx, { redirect: urlFor('tenants.members.index', { tenant: tenant.slug }) })
    authorize(ctx, 'members.manage')
    // Look up first: another tenant's id is a 404 whatever the body says.
    const target = await this.#target(ctx)
    if (!target) throw new NotFoundException()
    assertWritable(ctx)
    const { role } = await ctx.request.validateUsing(roleValidator)
    // Only owners may grant or take away ownership.
    if ((role === 'owner' || target.role === 'owner') && membership.role !== 'owner')
      authorize(ctx, 'members.manage_owners')
    await changeRole({
      tenantId: tenant.id,
      membershipId: target.id,
      role,
      actorId: membership.userId,
    })
    ctx.session.flash('success', 'Role updated.')
    return ctx.response.redirect(urlFor('tenants.members.index', { tenant: tenant.slug }))
  }

  async destroy(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    onRefusal(ctx, { redirect: urlFor('tenants.members.index', { tenant: tenant.slug }) })
    const target = await this.#target(ctx)
    if (!target) throw new NotFoundException()
    const leaving = target.id === membership.id
    if (!leaving) {
      authorize(ctx, 'members.manage')
      if (target.role === 'owner') authorize(ctx, 'members.manage_owners')
    }
    assertWritable(ctx)
    await removeMember({ tenantId: tenant.id, membershipId: target.id, actorId: membership.userId })
    ctx.session.flash('success', leaving ? `You left ${tenant.name}.` : 'Member removed.')
    return ctx.response.redirect(
      leaving ? urlFor('tenants.home') : urlFor('tenants.members.index', { tenant: tenant.slug })
    )
  }

  #target(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    return isUuid(ctx.params.id)
      ? Membership.query().where('tenantId', tenant.id).where('id', ctx.params.id).first()
      : null
  }
}
