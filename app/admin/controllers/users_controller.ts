import type { HttpContext } from '@adonisjs/core/http'
import { Exception } from '@adonisjs/core/exceptions'
import { isUuid, urlFor } from '#core'
import { resetTwoFactor, setUserDisabled, startImpersonation, User, userHasTwoFactor } from '#auth'
import { Membership, Tenant } from '#tenants'
import { adminLinks } from '#admin/services/nav'

async function userOf(id: unknown) {
  const user = isUuid(id) ? await User.find(id) : null
  if (!user) throw new Exception('Nothing exists at this address.', { status: 404 })
  return user
}

/**
 * /admin/users: search accounts by email; one account's workspaces; disable or enable it, reset
 * its two-factor, or sign in as it (impersonation, with a banner and both names in the audit).
 */
export default class UsersController {
  async index({ view, auth, request }: HttpContext) {
    const q = String(request.input('q') ?? '')
      .trim()
      .slice(0, 254)
    const query = User.query().orderBy('createdAt', 'desc').limit(50)
    if (q) query.whereILike('email', `%${q}%`)
    const users = await query
    return view.render('admin::pages/users', {
      user: auth.user,
      links: adminLinks(),
      q,
      users: users.map((u) => ({
        email: u.email,
        name: u.name,
        disabled: u.disabledAt !== null,
        platformAdmin: u.platformAdmin,
        url: urlFor('admin.users.show', { id: u.id }),
      })),
    })
  }

  async show({ view, auth, params }: HttpContext) {
    const subject = await userOf(params.id)
    const memberships = await Membership.query().where('userId', subject.id).limit(100)
    const tenants = memberships.length
      ? await Tenant.query().whereIn(
          'id',
          memberships.map((m) => m.tenantId)
        )
      : []
    const roleIn = new Map(memberships.map((m) => [m.tenantId, m.role]))
    return view.render('admin::pages/user', {
      user: auth.user,
      links: adminLinks(),
      subject: {
        id: subject.id,
        email: subject.email,
        name: subject.name,
        disabled: subject.disabledAt !== null,
        platformAdmin: subject.platformAdmin,
        twoFactor: userHasTwoFactor(subject),
        self: subject.id === auth.user!.id,
      },
      tenants: tenants.map((t) => ({
        name: t.name,
        role: roleIn.get(t.id),
        url: urlFor('admin.tenants.show', { id: t.id }),
      })),
    })
  }

  /** POST /admin/users/:id/disablement; DELETE enables the account again. */
  async disable({ params, response, session, auth }: HttpContext) {
    const subject = await userOf(params.id)
    if (subject.id === auth.user!.id) {
      session.flash('error', 'You cannot disable your own account.')
      return response.redirect(urlFor('admin.users.show', { id: subject.id }))
    }
    await setUserDisabled(subject.id, true, {
      actorId: auth.user!.id,
      actorLabel: auth.user!.email,
    })
    session.flash('success', `${subject.email} is disabled; their sessions and tokens were ended.`)
    return response.redirect(urlFor('admin.users.show', { id: subject.id }))
  }

  async enable({ params, response, session, auth }: HttpContext) {
    const subject = await userOf(params.id)
    await setUserDisabled(subject.id, false, {
      actorId: auth.user!.id,
      actorLabel: auth.user!.email,
    })
    session.flash('success', `${subject.email} may sign in again.`)
    return response.redirect(urlFor('admin.users.show', { id: subject.id }))
  }

  /** DELETE /admin/users/:id/two-factor: a lost device; they set it up again. */
  async resetTwoFactor({ params, response, session, auth }: HttpContext) {
    const subject = await userOf(params.id)
    await resetTwoFactor(subject.id, { actorId: auth.user!.id, actorLabel: auth.user!.email })
    session.flash('success', `Two-factor authentication of ${subject.email} was removed.`)
    return response.redirect(urlFor('admin.users.show', { id: subject.id }))
  }

  /** POST /admin/users/:id/impersonation: this browser becomes theirs until ended. */
  async impersonate(ctx: HttpContext) {
    const subject = await userOf(ctx.params.id)
    await startImpersonation(ctx, ctx.auth.user as User, subject)
    ctx.session.flash('warning', `You are acting as ${subject.email}. End it from the banner.`)
    return ctx.response.redirect(urlFor('tenants.home'))
  }
}
