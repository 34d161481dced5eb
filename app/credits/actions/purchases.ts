import db from '@adonisjs/lucid/services/db'
import logger from '@adonisjs/core/services/logger'
import { Tenant, withTenant } from '#tenants'
import { User } from '#auth'
import {
  formatCredits,
  InvalidInputException,
  isUuid,
  NotFoundException,
  parseCredits,
} from '#core'
import { notify, recordAudit } from '#platform'
import { creditPacks } from '#config/credits'
import { appendEntry, lockAccount, sql } from '#credits/services/accounts'
import { findPlan, formatPrice, pendingPlanChange } from '#credits/services/plans'
import { schedulePlanChange } from '#credits/actions/change_plan'
import {
  createCheckoutSession,
  stripeEnabled,
  PAYMENT_PROVIDERS,
  type PaymentProvider,
} from '#credits/services/payments'

export type PurchaseStatus = 'pending' | 'paid' | 'failed'

export type Purchase = {
  id: string
  tenantId: string
  pack: string | null
  planId: string | null
  credits: bigint
  priceCents: number
  currency: string
  provider: PaymentProvider
  status: PurchaseStatus
  checkoutSessionId: string | null
  checkoutUrl: string | null
  ledgerEntryId: string | null
  requestedBy: string | null
  createdAt: Date
  resolvedAt: Date | null
}

export const PURCHASE_COLUMNS =
  'id, tenant_id, pack, plan_id, credits, price_cents, currency, provider, status, ' +
  'checkout_session_id, checkout_url, ledger_entry_id, requested_by, created_at, resolved_at'

export function toPurchase(row: any): Purchase {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    pack: row.pack,
    planId: row.plan_id,
    credits: BigInt(row.credits),
    priceCents: Number(row.price_cents),
    currency: row.currency,
    provider: row.provider,
    status: row.status,
    checkoutSessionId: row.checkout_session_id,
    checkoutUrl: row.checkout_url,
    ledgerEntryId: row.ledger_entry_id,
    requestedBy: row.requested_by,
    createdAt: new Date(row.created_at),
    resolvedAt: row.resolved_at ? new Date(row.resolved_at) : null,
  }
}

/** What a purchase buys, for pages and receipts: "Growth pack (50 credits)" or "Pro plan". */
export function purchaseName(purchase: Pick<Purchase, 'pack' | 'planId' | 'credits'>) {
  if (purchase.planId)
    return `${purchase.planId.charAt(0).toUpperCase()}${purchase.planId.slice(1)} plan`
  const pack = creditPacks.find((p) => p.id === purchase.pack)
  return `${pack?.name ?? purchase.pack} pack (${formatCredits(purchase.credits)} credits)`
}

/**
 * Starts a purchase of a credit pack or a plan. Manual: a pending invoice a platform admin marks
 * paid. Stripe: a Checkout session the buyer is sent to; the webhook completes it. Nothing is
 * credited here. `urls` builds the buyer's return pages from the purchase id.
 */
export async function startPurchase(input: {
  tenantId: string
  item: { pack: string } | { plan: string }
  provider: string
  actorId: string | null
  urls: (purchaseId: string) => { success: string; cancel: string }
}): Promise<Purchase> {
  if (!PAYMENT_PROVIDERS.includes(input.provider as PaymentProvider))
    throw new InvalidInputException(
      'provider',
      `provider must be one of ${PAYMENT_PROVIDERS.join(', ')}.`
    )
  const provider = input.provider as PaymentProvider
  if (provider === 'stripe' && !stripeEnabled())
    throw new InvalidInputException(
      'provider',
      'Card payments (Stripe) are not set up on this server.'
    )

  let item: { pack: string | null; planId: string | null; credits: bigint; priceCents: number }
  if ('pack' in input.item) {
    const wanted = input.item.pack
    const pack = creditPacks.find((p) => p.id === wanted)
    if (!pack)
      throw new InvalidInputException(
        'pack',
        `pack must be one of ${creditPacks.map((p) => p.id).join(', ')}.`
      )
    item = {
      pack: pack.id,
      planId: null,
      credits: parseCredits(pack.credits)!,
      priceCents: pack.priceCents,
    }
  } else {
    const plan = await findPlan(String(input.item.plan))
    if (!plan || plan.priceCents <= 0) throw new InvalidInputException('plan', 'No such paid plan.')
    const tenant = await Tenant.find(input.tenantId)
    const pending = await pendingPlanChange(input.tenantId)
    if (tenant?.planId === plan.id || pending?.planId === plan.id)
      throw new InvalidInputException(
        'plan',
        `The workspace is already on ${plan.name} (or moving to it).`
      )
    item = { pack: null, planId: plan.id, credits: 0n, priceCents: plan.priceCents }
  }

  const purchase = await withTenant(input.tenantId, async (trx) => {
    const { rows } = await sql(
      trx,
      `INSERT INTO credit_purchases (tenant_id, pack, plan_id, credits, price_cents, provider, requested_by)
       VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING ${PURCHASE_COLUMNS}`,
      [
        input.tenantId,
        item.pack,
        item.planId,
        item.credits.toString(),
        item.priceCents,
        provider,
        input.actorId,
      ]
    )
    const created = toPurchase(rows[0])
    await recordAudit(
      {
        action: 'credits.purchase.created',
        actorId: input.actorId,
        tenantId: input.tenantId,
        subjectType: 'purchase',
        subjectId: created.id,
        changes: {
          item: purchaseName(created),
          price: formatPrice(created.priceCents, created.currency),
          provider,
        },
      },
      trx
    )
    return created
  })
  if (provider === 'manual') return purchase

  const urls = input.urls(purchase.id)
  try {
    const session = await createCheckoutSession({
      id: purchase.id,
      tenantId: purchase.tenantId,
      name: purchaseName(purchase),
      priceCents: purchase.priceCents,
      currency: purchase.currency,
      successUrl: urls.success,
      cancelUrl: urls.cancel,
    })
    return await withTenant(input.tenantId, async (trx) => {
      const { rows } = await sql(
        trx,
        `UPDATE credit_purchases SET checkout_session_id = ?, checkout_url = ?
          WHERE id = ? AND tenant_id = ? RETURNING ${PURCHASE_COLUMNS}`,
        [session.id, session.url, purchase.id, input.tenantId]
      )
      return toPurchase(rows[0])
    })
  } catch (error) {
    await failPurchase(purchase.id, { reason: (error as Error).message })
    throw error
  }
}

/** A purchase by id, on the owner connection (webhooks and admins do not know its tenant). */
export async function findPurchase(where: { id?: string; checkoutSessionId?: string }) {
  const { rows } = await sql(
    db,
    where.id
      ? `SELECT ${PURCHASE_COLUMNS} FROM credit_purchases WHERE id = ?`
      : `SELECT ${PURCHASE_COLUMNS} FROM credit_purchases WHERE checkout_session_id = ?`,
    [where.id ?? where.checkoutSessionId]
  )
  return rows.length ? toPurchase(rows[0]) : null
}

/**
 * Marks a pending purchase paid and delivers it, exactly once: the conditional update from
 * `pending` decides (a second delivery, a replay or a concurrent admin finds it paid and changes
 * nothing), and a pack's ledger entry carries the key `purchase:<id>`. A pack credits the
 * tenant now; a plan takes effect from the next period. Returns whether this call paid it.
 */
export async function fulfilPurchase(
  purchaseId: string,
  by: { actorId?: string | null; actorLabel: string }
): Promise<{ purchase: Purchase; paid: boolean }> {
  const found = await findPurchase({ id: purchaseId })
  if (!found) throw new InvalidInputException('purchase', 'No such purchase.')
  const plan = found.planId ? await findPlan(found.planId) : null
  const result = await withTenant(found.tenantId, async (trx) => {
    const account = await lockAccount(trx, found.tenantId)
    const { rows } = await sql(
      trx,
      `UPDATE credit_purchases SET status = 'paid', resolved_at = now(), resolved_by = ?
        WHERE id = ? AND tenant_id = ? AND status = 'pending' RETURNING ${PURCHASE_COLUMNS}`,
      [by.actorId ?? null, purchaseId, found.tenantId]
    )
    if (!rows.length) return { purchase: found, paid: false }
    let purchase = toPurchase(rows[0])
    if (purchase.credits > 0n) {
      const entry = await appendEntry(
        trx,
        { ...account, tenantId: purchase.tenantId },
        {
          kind: 'purchase',
          amount: purchase.credits,
          reference: `${purchaseName(purchase)}, purchase ${purchase.id}`,
          idempotencyKey: `purchase:${purchase.id}`,
          actorId: purchase.requestedBy,
        }
      )
      const updated = await sql(
        trx,
        `UPDATE credit_purchases SET ledger_entry_id = ? WHERE id = ? RETURNING ${PURCHASE_COLUMNS}`,
        [entry.id, purchase.id]
      )
      purchase = toPurchase(updated.rows[0])
    }
    if (plan)
      await schedulePlanChange(trx, plan, {
        tenantId: purchase.tenantId,
        actorId: purchase.requestedBy,
      })
    await recordAudit(
      {
        action: 'credits.purchase.paid',
        actorId: by.actorId ?? null,
        actorLabel: by.actorLabel,
        tenantId: purchase.tenantId,
        subjectType: 'purchase',
        subjectId: purchase.id,
        changes: { item: purchaseName(purchase), provider: purchase.provider },
      },
      trx
    )
    return { purchase, paid: true }
  })
  if (result.paid && result.purchase.requestedBy) {
    const buyer = await User.find(result.purchase.requestedBy)
    if (buyer)
      await notify({
        recipients: [{ userId: buyer.id, email: buyer.email }],
        tenantId: result.purchase.tenantId,
        kind: 'purchase.paid',
        title: `Payment received: ${purchaseName(result.purchase)}`,
        body: result.purchase.planId
          ? `Your ${purchaseName(result.purchase)} starts with your next billing period.`
          : `${formatCredits(result.purchase.credits)} credits were added to your workspace.`,
        dedupeKey: `purchase:${result.purchase.id}`,
      }).catch((error) => logger.error({ err: error }, 'purchase notification failed'))
  }
  return result
}

/** Marks a pending purchase failed (checkout expired, payment failed, provider error); once. */
export async function failPurchase(
  purchaseId: string,
  by: { reason: string; actorId?: string | null }
): Promise<boolean> {
  const found = await findPurchase({ id: purchaseId })
  if (!found) return false
  return withTenant(found.tenantId, async (trx) => {
    const { rows } = await sql(
      trx,
      `UPDATE credit_purchases SET status = 'failed', resolved_at = now(), resolved_by = ?
        WHERE id = ? AND tenant_id = ? AND status = 'pending' RETURNING id`,
      [by.actorId ?? null, purchaseId, found.tenantId]
    )
    if (!rows.length) return false
    await recordAudit(
      {
        action: 'credits.purchase.failed',
        actorId: by.actorId ?? null,
        tenantId: found.tenantId,
        subjectType: 'purchase',
        subjectId: purchaseId,
        changes: { reason: by.reason.slice(0, 500) },
      },
      trx
    )
    return true
  })
}

/** A tenant's purchase by the id in a URL: another tenant's (or no such id) is a 404. */
export async function tenantPurchase(tenantId: string, id: unknown) {
  const { rows } = isUuid(id)
    ? await sql(
        db,
        `SELECT ${PURCHASE_COLUMNS} FROM credit_purchases WHERE tenant_id = ? AND id = ?`,
        [tenantId, id]
      )
    : { rows: [] }
  if (!rows.length) throw new NotFoundException()
  return toPurchase(rows[0])
}

/** Purchases newest first: one tenant's, or (tenantId null) every tenant's with `status`. */
export async function listPurchases(filter: {
  tenantId: string | null
  status?: PurchaseStatus
  limit: number
}) {
  const query = db.from('credit_purchases').select(db.raw(PURCHASE_COLUMNS))
  if (filter.tenantId) query.where('tenant_id', filter.tenantId)
  if (filter.status) query.where('status', filter.status)
  const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit)
  return rows.map(toPurchase)
}

/**
 * Applies a verified Stripe event. Each event id is handled once (stripe_events), and each
 * purchase is paid or failed once whatever the order or number of deliveries (fulfilPurchase,
 * failPurchase): a `completed` after an `expired` finds the purchase failed and changes nothing.
 * A session whose amount or currency differs from the purchase is not fulfilled.
 */
export async function handleStripeEvent(event: {
  id: string
  type: string
  data: { object: any }
}): Promise<'handled' | 'duplicate' | 'ignored'> {
  const seen = await db.from('stripe_events').where('id', event.id).first()
  if (seen) return 'duplicate'
  const session = event.data.object ?? {}
  const fulfils =
    (event.type === 'checkout.session.completed' &&
      ['paid', 'no_payment_required'].includes(session.payment_status)) ||
    event.type === 'checkout.session.async_payment_succeeded'
  const fails = ['checkout.session.expired', 'checkout.session.async_payment_failed'].includes(
    event.type
  )
  let outcome: 'handled' | 'ignored' = 'ignored'
  if ((fulfils || fails) && typeof session.id === 'string') {
    const purchase = await findPurchase({ checkoutSessionId: session.id })
    if (!purchase) {
      logger.warn({ event: event.id, session: session.id }, 'Stripe event for an unknown session')
    } else if (
      fulfils &&
      (session.amount_total !== purchase.priceCents ||
        String(session.currency).toLowerCase() !== purchase.currency)
    ) {
      logger.error(
        { event: event.id, purchase: purchase.id, amount: session.amount_total },
        'Stripe session amount differs from the purchase: not fulfilled'
      )
    } else if (fulfils) {
      await fulfilPurchase(purchase.id, { actorLabel: 'stripe' })
      outcome = 'handled'
    } else {
      await failPurchase(purchase.id, { reason: `Stripe: ${event.type}` })
      outcome = 'handled'
    }
  }
  await db.rawQuery(`INSERT INTO stripe_events (id, type) VALUES (?, ?) ON CONFLICT DO NOTHING`, [
    event.id,
    event.type.slice(0, 100),
  ])
  return outcome
}
