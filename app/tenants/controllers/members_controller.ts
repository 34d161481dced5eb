import type { HttpContext } from '@adonisjs/core/http'
import db from '@adonisjs/lucid/services/db'
import { isUuid, NotFoundException, onRefusal, urlFor } from '#core'
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
    // Plain rows with the columns shown: a page of members costs no model hydration.
    const query = db
      .from('memberships')
      .where('memberships.tenant_id', tenant.id)
      .join('users', 'users.id', 'memberships.user_id')
      .select(
        'memberships.id',
        'memberships.role',
        'users.name as user_name',
        'users.email as user_email',
        'users.totp_enabled_at as user_totp'
      )
      .orderBy('memberships.created_at')
      .orderBy('memberships.id')
      .offset((pageNumber - 1) * MEMBERS_PAGE)
      .limit(MEMBERS_PAGE + 1)
    if (q) {
      const like = `%${q.replace(/[%_\\]/g, '\\$&')}%`
      query.where((w) => w.whereILike('users.email', like).orWhereILike('users.name', like))
    }
    const rows = await query
    // Invitees' addresses are for the people who manage members only.
    const invitations = canManage
      ? await scoped(tenant, Invitation)
          .whereNull('acceptedAt')
          .whereNull('revokedAt')
          .orderBy('createdAt', 'desc')
          .limit(200)
      : []
    const members = rows.slice(0, MEMBERS_PAGE).map((row) => ({
      membership: { id: row.id as string, role: row.role as string },
      user: {
        name: row.user_name as string,
        email: row.user_email as string,
        twoFactor: row.user_totp !== null,
      },
    }))
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
