import type { HttpContext } from '@adonisjs/core/http'
import { formatCredits, urlFor } from '#core'
import { assertWritable, authorize, currentTenant } from '#tenants'
import { purchaseName, startPurchase, tenantPurchase } from '#credits/actions/purchases'
import { formatPrice } from '#credits/services/plans'
import { purchaseReturnUrls } from '#credits/controllers/api_purchases_controller'

/**
 * The purchase flow in the browser: POST starts it (Stripe: off to Checkout; manual: a pending
 * invoice) and GET shows its result, refreshing itself while it is pending.
 */
export default class PurchasesController {
  async store(ctx: HttpContext) {
    authorize(ctx, 'credits.manage')
    assertWritable(ctx)
    const { tenant, membership } = currentTenant(ctx)
    const pack = ctx.request.input('pack')
    const plan = ctx.request.input('plan')
    const purchase = await startPurchase({
      tenantId: tenant.id,
      item: plan ? { plan: String(plan) } : { pack: String(pack ?? '') },
      provider: String(ctx.request.input('provider') ?? 'manual'),
      actorId: membership.userId,
      urls: purchaseReturnUrls(tenant.slug),
    })
    if (purchase.checkoutUrl) return ctx.response.redirect(purchase.checkoutUrl)
    return ctx.response.redirect(
      urlFor('credits.purchases.show', { tenant: tenant.slug, id: purchase.id })
    )
  }

  async show(ctx: HttpContext) {
    authorize(ctx, 'credits.read')
    const { tenant } = currentTenant(ctx)
    const purchase = await tenantPurchase(tenant.id, ctx.params.id)
    const props = {
      purchase: {
        id: purchase.id,
        status: purchase.status,
        name: purchaseName(purchase),
        price: formatPrice(purchase.priceCents, purchase.currency),
        credits: formatCredits(purchase.credits),
        provider: purchase.provider,
        isPlan: purchase.planId !== null,
        checkoutUrl: purchase.status === 'pending' ? purchase.checkoutUrl : null,
      },
      cancelled: ctx.request.input('cancelled') === '1',
      selfUrl: urlFor('credits.purchases.show', { tenant: tenant.slug, id: purchase.id }),
    }
    if (ctx.request.header('hx-request'))
      return ctx.view.render('credits::components/purchase_status', props)
    return ctx.view.render('credits::pages/purchase', props)
  }
}
