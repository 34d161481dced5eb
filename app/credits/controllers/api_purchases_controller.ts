import type { HttpContext } from '@adonisjs/core/http'
import {
  DomainException,
  InvalidInputException,
  IDEMPOTENCY_KEY_RULE,
  isIdempotencyKey,
  problem,
  urlFor,
} from '#core'
import { appUrl } from '#config/app'
import {
  claimIdempotencyKey,
  completeIdempotencyKey,
  releaseIdempotencyKey,
  requestHash,
  type IdempotencyScope,
} from '#platform'
import { assertWritable, authorize, currentTenant } from '#tenants'
import { listPurchases, startPurchase, tenantPurchase } from '#credits/actions/purchases'
import { purchaseJson } from '#credits/services/billing_json'

/** Where Stripe sends the buyer back: the purchase's result page. */
export function purchaseReturnUrls(tenantSlug: string) {
  return (id: string) => {
    const page = new URL(
      urlFor('credits.purchases.show', { tenant: tenantSlug, id }),
      appUrl
    ).toString()
    return { success: page, cancel: `${page}?cancelled=1` }
  }
}

/**
 * /api/v1/credits/purchases: buy a credit pack (or a plan) with the manual provider or Stripe
 * Checkout. Idempotency-Key is honoured: the same body replays the first answer.
 */
export default class ApiPurchasesController {
  async index(ctx: HttpContext) {
    authorize(ctx, 'credits.read')
    const { tenant } = currentTenant(ctx)
    const purchases = await listPurchases({ tenantId: tenant.id, limit: 100 })
    return { data: purchases.map(purchaseJson), next_cursor: null }
  }

  async show(ctx: HttpContext) {
    authorize(ctx, 'credits.read')
    const { tenant } = currentTenant(ctx)
    const purchase = await tenantPurchase(tenant.id, ctx.params.id)
    return purchaseJson(purchase)
  }

  async store(ctx: HttpContext) {
    authorize(ctx, 'credits.manage')
    assertWritable(ctx)
    const { tenant, membership } = currentTenant(ctx)
    const body = ctx.request.body()
    const key = ctx.request.header('idempotency-key')
    if (key !== undefined && !isIdempotencyKey(key))
      throw new InvalidInputException('idempotency_key', IDEMPOTENCY_KEY_RULE)
    const scope: IdempotencyScope | null = key
      ? { tenantId: tenant.id, route: 'credits:purchases', key }
      : null
    if (scope) {
      const claim = await claimIdempotencyKey(scope, requestHash(body))
      if (claim.state === 'conflict')
        throw new DomainException(claim.detail, { status: 409, code: 'E_IDEMPOTENCY_CONFLICT' })
      if (claim.state === 'replay') return ctx.response.status(claim.status).json(claim.body)
    }
    try {
      const pack = body.pack
      const plan = body.plan
      if ((pack === undefined) === (plan === undefined))
        throw new InvalidInputException('pack', 'Give either pack (a credit pack id) or plan.')
      const purchase = await startPurchase({
        tenantId: tenant.id,
        item: pack !== undefined ? { pack: String(pack) } : { plan: String(plan) },
        provider: String(body.provider ?? 'manual'),
        actorId: membership.userId,
        urls: purchaseReturnUrls(tenant.slug),
      })
      const json = purchaseJson(purchase)
      if (scope) await completeIdempotencyKey(scope, 201, json)
      ctx.response.header('Location', `/api/v1/credits/purchases/${purchase.id}`)
      return ctx.response.status(201).json(json)
    } catch (error: any) {
      if (scope && typeof error?.status === 'number' && error.status < 500)
        await completeIdempotencyKey(
          scope,
          error.status,
          problem(error.status, error.message, { request_id: ctx.request.id() })
        )
      else if (scope) await releaseIdempotencyKey(scope)
      throw error
    }
  }
}
