import type { HttpContext } from '@adonisjs/core/http'
import { Exception } from '@adonisjs/core/exceptions'
import { DateTime } from 'luxon'
import { formatCredits, isUuid, parseCredits, urlFor } from '#core'
import { liftSuspension, Membership, suspendTenant, Tenant } from '#tenants'
import { User } from '#auth'
import { adjust, balanceAndSpend, changePlan, grant, listPlans, pendingPlanChange } from '#credits'
import { adminLinks } from '#admin/services/nav'

const notFound = () => new Exception('Nothing exists at this address.', { status: 404 })

async function tenantOf(id: unknown) {
  const tenant = isUuid(id) ? await Tenant.find(id) : null
  if (!tenant) throw notFound()
  return tenant
}

/**
 * /admin/tenants: search workspaces; one workspace's members, balance, usage and plan; suspend
 * or lift, change the plan (from the next period), grant or adjust credits with a reason. Every
 * action goes through the owning module's action, which audits it with the admin as actor.
 */
export default class TenantsController {
  async index({ view, auth, request }: HttpContext) {
    const q = String(request.input('q') ?? '')
      .trim()
      .slice(0, 100)
    const query = Tenant.query().orderBy('createdAt', 'desc').limit(50)
    if (q) query.where((w) => w.whereILike('slug', `%${q}%`).orWhereILike('name', `%${q}%`))
    const tenants = await query
    return view.render('admin::pages/tenants', {
      user: auth.user,
      links: adminLinks(),
      q,
      tenants: tenants.map((t) => ({
        id: t.id,
        slug: t.slug,
        name: t.name,
        plan: t.planId,
        suspended: t.suspendedAt !== null,
        createdAt: t.createdAt.toISODate(),
        url: urlFor('admin.tenants.show', { id: t.id }),
      })),
    })
  }

  async show({ view, auth, params }: HttpContext) {
    const tenant = await tenantOf(params.id)
    const monthStart = DateTime.now().setZone(tenant.timeZone).startOf('month')
    const [memberships, memberCount, balance, plans, pending] = await Promise.all([
      Membership.query().where('tenantId', tenant.id).orderBy('createdAt').limit(50),
      Membership.query().where('tenantId', tenant.id).count('* as n'),
      balanceAndSpend(tenant.id, [monthStart.toJSDate()]),
      listPlans(),
      pendingPlanChange(tenant.id),
    ])
    const users = memberships.length
      ? await User.query().whereIn(
          'id',
          memberships.map((m) => m.userId)
        )
      : []
    const emailOf = new Map(users.map((u) => [u.id, u.email]))
    return view.render('admin::pages/tenant', {
      user: auth.user,
      links: adminLinks(),
      tenant: {
        id: tenant.id,
        slug: tenant.slug,
        name: tenant.name,
        plan: tenant.planId,
        timeZone: tenant.timeZone,
        suspended: tenant.suspendedAt !== null,
        suspensionReason: tenant.suspensionReason,
      },
      members: memberships.map((m) => ({
        email: emailOf.get(m.userId) ?? m.userId,
        role: m.role,
        url: urlFor('admin.users.show', { id: m.userId }),
      })),
      memberCount: Number((memberCount[0] as any).$extras.n),
      balance: {
        balance: formatCredits(balance.balance),
        held: formatCredits(balance.held),
        available: formatCredits(balance.available),
        monthSpend: formatCredits(balance.spend[0]),
        month: monthStart.toFormat('LLLL yyyy'),
      },
      plans: plans.map((p) => ({ value: p.id, label: p.name })),
      pending,
    })
  }

  /** POST /admin/tenants/:id/suspension {reason}; DELETE lifts it. */
  async suspend({ params, request, response, session, auth }: HttpContext) {
    const tenant = await tenantOf(params.id)
    const reason = String(request.input('reason') ?? '').trim() || null
    await suspendTenant({ tenantId: tenant.id, reason, actorId: auth.user!.id })
    session.flash('success', `${tenant.name} is suspended: read-only, runs refused.`)
    return response.redirect(urlFor('admin.tenants.show', { id: tenant.id }))
  }

  async lift({ params, response, session, auth }: HttpContext) {
    const tenant = await tenantOf(params.id)
    await liftSuspension({ tenantId: tenant.id, actorId: auth.user!.id })
    session.flash('success', `${tenant.name} is active again.`)
    return response.redirect(urlFor('admin.tenants.show', { id: tenant.id }))
  }

  /** POST /admin/tenants/:id/plan-changes {plan}: from the workspace's next period. */
  async changePlan({ params, request, response, session, auth }: HttpContext) {
    const tenant = await tenantOf(params.id)
    const change = await changePlan({
      tenantId: tenant.id,
      planId: String(request.input('plan') ?? ''),
      actorId: auth.user!.id,
    })
    session.flash(
      'success',
      change
        ? `${tenant.name} moves to ${change.planId} on ${change.effectiveFrom}.`
        : `${tenant.name} stays on ${tenant.planId}.`
    )
    return response.redirect(urlFor('admin.tenants.show', { id: tenant.id }))
  }

  /**
   * POST /admin/tenants/:id/credit-entries {credits, reason}: a positive amount is a grant, a
   * negative one an adjustment (refused below zero available).
   */
  async credit({ params, request, response, session, auth }: HttpContext) {
    const tenant = await tenantOf(params.id)
    const back = urlFor('admin.tenants.show', { id: tenant.id })
    const amount = parseCredits(request.input('credits'))
    const reason = String(request.input('reason') ?? '').trim()
    if (amount === null || amount === 0n || !reason) {
      session.flash('error', 'Give a non-zero amount of credits (e.g. 25 or -2.5) and a reason.')
      return response.redirect(back)
    }
    const input = { tenantId: tenant.id, amount, reason, actorId: auth.user!.id }
    const { entry } = amount > 0n ? await grant(input) : await adjust(input)
    session.flash(
      'success',
      `${formatCredits(entry.amount)} credits recorded; balance now ${formatCredits(entry.balanceAfter)}.`
    )
    return response.redirect(back)
  }
}
