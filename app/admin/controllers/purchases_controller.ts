import type { HttpContext } from '@adonisjs/core/http'
import { Exception } from '@adonisjs/core/exceptions'
import { formatCredits, isUuid, urlFor } from '#core'
import { Tenant } from '#tenants'
import {
  failPurchase,
  findPurchase,
  formatPrice,
  fulfilPurchase,
  listPurchases,
  purchaseName,
} from '#credits'

/**
 * /admin/purchases: invoices of the manual payment provider. A platform admin marks one paid
 * (the workspace is credited once) or rejects it; Stripe purchases are listed for reference.
 */
export default class PurchasesController {
  async index({ view, auth, request }: HttpContext) {
    const status = request.input('status') === 'all' ? undefined : 'pending'
    const purchases = await listPurchases({ tenantId: null, status, limit: 100 })
    const tenants = purchases.length
      ? await Tenant.query().whereIn('id', [...new Set(purchases.map((p) => p.tenantId))])
      : []
    const tenantOf = new Map(tenants.map((t) => [t.id, t]))
    return view.render('admin::pages/purchases', {
      user: auth.user,
      showingAll: !status,
      purchases: purchases.map((p) => ({
        id: p.id,
        tenant: tenantOf.get(p.tenantId)?.name ?? p.tenantId,
        item: purchaseName(p),
        price: formatPrice(p.priceCents, p.currency),
        credits: formatCredits(p.credits),
        provider: p.provider,
        status: p.status,
        createdAt: p.createdAt.toISOString().slice(0, 16).replace('T', ' '),
        payUrl: urlFor('admin.purchase_payments.store', { id: p.id }),
        rejectUrl: urlFor('admin.purchase_rejections.store', { id: p.id }),
      })),
    })
  }

  /** POST /admin/purchases/:id/payment: the invoice was paid. */
  async pay({ params, response, session, auth }: HttpContext) {
    const id = String(params.id)
    if (!isUuid(id)) throw new Exception('Nothing exists at this address.', { status: 404 })
    const found = await findPurchase({ id })
    if (found?.provider === 'stripe') {
      session.flash('error', 'Card payments are confirmed by Stripe, not by hand.')
      return response.redirect(urlFor('admin.purchases.index'))
    }
    const { purchase, paid } = await fulfilPurchase(id, {
      actorId: auth.user!.id,
      actorLabel: 'platform admin',
    })
    session.flash(
      paid ? 'success' : 'warning',
      paid
        ? `${purchaseName(purchase)} marked paid.`
        : `That purchase is already ${purchase.status}; nothing changed.`
    )
    return response.redirect(urlFor('admin.purchases.index'))
  }

  /** POST /admin/purchases/:id/rejection: the invoice will not be paid. */
  async reject({ params, response, session, auth }: HttpContext) {
    const id = String(params.id)
    if (!isUuid(id)) throw new Exception('Nothing exists at this address.', { status: 404 })
    const failed = await failPurchase(id, {
      reason: 'rejected by a platform admin',
      actorId: auth.user!.id,
    })
    session.flash(
      failed ? 'success' : 'warning',
      failed ? 'Purchase rejected.' : 'That purchase is no longer pending.'
    )
    return response.redirect(urlFor('admin.purchases.index'))
  }
}
