import type { HttpContext } from '@adonisjs/core/http'
import { isHtmx, urlFor } from '#core'
import { authorize, currentTenant } from '#tenants'
import { balanceWidget } from '#credits/services/presenters'

/** /t/:tenant/credits/balance: the self-refreshing balance widget, alone (htmx polls it). */
export default class BalanceController {
  async show(ctx: HttpContext) {
    authorize(ctx, 'credits.read')
    const { tenant } = currentTenant(ctx)
    if (!isHtmx(ctx))
      return ctx.response.redirect(urlFor('credits.credits.show', { tenant: tenant.slug }))
    return ctx.view.render('credits::components/balance', await balanceWidget(tenant))
  }
}
