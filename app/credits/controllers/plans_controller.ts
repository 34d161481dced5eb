import type { HttpContext } from '@adonisjs/core/http'
import { formatCredits, urlFor } from '#core'
import { assertWritable, authorize, currentTenant, roleAllows } from '#tenants'
import { listPlans, pendingPlanChange, formatPrice } from '#credits/services/plans'
import { changePlan } from '#credits/actions/change_plan'
import { stripeEnabled } from '#credits/services/payments'

/**
 * /t/:tenant/plans: the plans, the current one and any change scheduled for the next period.
 * Upgrading is a purchase (the purchase flow); moving to a cheaper plan is scheduled here.
 */
export default class PlansController {
  async index(ctx: HttpContext) {
    authorize(ctx, 'credits.read')
    const { tenant, membership } = currentTenant(ctx)
    const [plans, pending] = await Promise.all([listPlans(), pendingPlanChange(tenant.id)])
    const current = plans.find((p) => p.id === tenant.planId)
    return ctx.view.render('credits::pages/plans', {
      plans: plans.map((plan) => ({
        id: plan.id,
        name: plan.name,
        monthlyCredits: formatCredits(plan.monthlyAllowance),
        price: formatPrice(plan.priceCents),
        paid: plan.priceCents > 0,
        current: plan.id === tenant.planId,
        scheduled: pending?.planId === plan.id,
        upgrade: plan.priceCents > (current?.priceCents ?? 0),
        maxMembers: plan.maxMembers,
      })),
      pending,
      currentName: current?.name ?? tenant.planId,
      canManage: roleAllows(membership.role, 'credits.manage'),
      stripe: stripeEnabled(),
    })
  }

  /** POST /t/:tenant/plans/changes: schedules a move to a cheaper plan (or cancels a scheduled one). */
  async store(ctx: HttpContext) {
    authorize(ctx, 'credits.manage')
    assertWritable(ctx)
    const { tenant, membership } = currentTenant(ctx)
    const planId = String(ctx.request.input('plan') ?? '')
    const plans = await listPlans()
    const target = plans.find((p) => p.id === planId)
    const current = plans.find((p) => p.id === tenant.planId)
    const back = urlFor('credits.plans.index', { tenant: tenant.slug })
    if (!target) {
      ctx.session.flash('error', 'Choose one of the plans.')
      return ctx.response.redirect(back)
    }
    if (target.priceCents > (current?.priceCents ?? 0)) {
      ctx.session.flash(
        'error',
        `Upgrading to ${target.name} is a purchase: use its Upgrade button.`
      )
      return ctx.response.redirect(back)
    }
    const change = await changePlan({ tenantId: tenant.id, planId, actorId: membership.userId })
    ctx.session.flash(
      'success',
      change
        ? `You move to ${target.name} on ${change.effectiveFrom}; until then nothing changes.`
        : `You stay on ${target.name}.`
    )
    return ctx.response.redirect(back)
  }
}
