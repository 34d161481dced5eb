import type { HttpContext } from '@adonisjs/core/http'
import { assertWritable, authorize, currentTenant } from '#tenants'
import { listBudgets } from '#credits/services/budgets'
import { lowBalanceThreshold } from '#credits/services/alerts'
import { setBudgets } from '#credits/actions/set_budgets'
import { budgetsInput, budgetsJson } from '#credits/services/billing_json'

/** GET/PUT /api/v1/budgets: monthly budgets per member and per agent, and the low-balance alert. */
export default class ApiBudgetsController {
  async show(ctx: HttpContext) {
    authorize(ctx, 'credits.read')
    const { tenant } = currentTenant(ctx)
    return budgetsJson(await listBudgets(tenant.id), await lowBalanceThreshold(tenant.id))
  }

  async update(ctx: HttpContext) {
    authorize(ctx, 'credits.manage')
    assertWritable(ctx)
    const { tenant, membership } = currentTenant(ctx)
    await setBudgets(tenant.id, budgetsInput(ctx.request.body()), { actorId: membership.userId })
    return this.show(ctx)
  }
}
