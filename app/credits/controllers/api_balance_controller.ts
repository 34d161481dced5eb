import type { HttpContext } from '@adonisjs/core/http'
import { authorize, currentTenant } from '#tenants'
import { balanceOf } from '#credits/services/accounts'
import { balanceJson } from '#credits/services/presenters'

/** GET /api/v1/credits: `{balance, held, available, currency: "credits"}`. */
export default class ApiBalanceController {
  async show(ctx: HttpContext) {
    authorize(ctx, 'credits.read')
    const { tenant } = currentTenant(ctx)
    return balanceJson(await balanceOf(tenant.id))
  }
}
