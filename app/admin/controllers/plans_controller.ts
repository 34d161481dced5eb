import type { HttpContext } from '@adonisjs/core/http'
import { Exception } from '@adonisjs/core/exceptions'
import { formatCredits, InvalidInputException, parseCredits, urlFor } from '#core'
import { listPlans, packsJson, updatePlan } from '#credits'
import { adminLinks } from '#admin/services/nav'

/** /admin/plans: the plans (editable) and the credit packs (from CREDIT_PACKS, read-only). */
export default class PlansController {
  async index({ view, auth }: HttpContext) {
    const plans = await listPlans()
    return view.render('admin::pages/plans', {
      user: auth.user,
      links: adminLinks(),
      plans: plans.map((plan) => ({
        id: plan.id,
        name: plan.name,
        monthlyCredits: formatCredits(plan.monthlyAllowance),
        price: (plan.priceCents / 100).toFixed(2),
        maxMembers: plan.maxMembers ?? '',
      })),
      packs: packsJson(),
    })
  }

  /** PUT /admin/plans/:id {name, monthly_credits, price, max_members}. */
  async update({ params, request, response, session, auth }: HttpContext) {
    const credits = parseCredits(request.input('monthly_credits'))
    const dollars = String(request.input('price') ?? '').trim()
    const members = String(request.input('max_members') ?? '').trim()
    const back = urlFor('admin.plans.index')
    if (credits === null || !/^\d{1,7}(\.\d{1,2})?$/.test(dollars)) {
      session.flash('error', 'Monthly credits and a price in dollars (e.g. 19.00) are needed.')
      return response.redirect(back)
    }
    let plan
    try {
      plan = await updatePlan(
        String(params.id),
        {
          name: String(request.input('name') ?? ''),
          monthlyAllowance: credits,
          priceCents: Math.round(Number(dollars) * 100),
          maxMembers: members ? Number(members) : null,
        },
        { actorId: auth.user!.id }
      )
    } catch (error) {
      if (!(error instanceof InvalidInputException)) throw error
      session.flash('error', `Not saved: ${error.message}`)
      return response.redirect(back)
    }
    if (!plan) throw new Exception('Nothing exists at this address.', { status: 404 })
    session.flash('success', `${plan.name} saved; the next allowances use it.`)
    return response.redirect(back)
  }
}
