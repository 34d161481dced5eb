import type Stripe from 'stripe'
import { DomainException } from '#core'

/** Payment providers: `manual` (a platform admin marks the invoice paid) and Stripe Checkout. */
export const PAYMENT_PROVIDERS = ['manual', 'stripe'] as const
export type PaymentProvider = (typeof PAYMENT_PROVIDERS)[number]

/** Stripe is on when STRIPE_SECRET_KEY is set (read per call: operators and tests set it). */
export function stripeEnabled() {
  return Boolean(process.env.STRIPE_SECRET_KEY)
}

let client: { key: string; base: string; stripe: Stripe } | null = null

/**
 * The SDK client; STRIPE_API_BASE points it elsewhere (a local fake in tests). The SDK is loaded
 * on first use: it adds ~30 MB to every process, most of which never take a payment.
 */
async function stripe(): Promise<Stripe> {
  const key = process.env.STRIPE_SECRET_KEY ?? ''
  const base = process.env.STRIPE_API_BASE ?? ''
  if (client && client.key === key && client.base === base) return client.stripe
  const url = base ? new URL(base) : null
  const { default: StripeSdk } = await import('stripe')
  const instance = new StripeSdk(key || 'sk_unset', {
    maxNetworkRetries: 2,
    timeout: 10_000,
    ...(url
      ? {
          host: url.hostname,
          port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
          protocol: url.protocol === 'https:' ? 'https' : 'http',
        }
      : {}),
  })
  client = { key, base, stripe: instance }
  return instance
}

/** The payment provider failed or is unreachable: 502, nothing was charged. */
export class PaymentProviderException extends DomainException {
  constructor(message: string) {
    super(message, { status: 502, code: 'E_PAYMENT_PROVIDER' })
  }
}

/** Opens a Stripe Checkout session for one purchase; returns its id and the page to send the buyer to. */
export async function createCheckoutSession(purchase: {
  id: string
  tenantId: string
  name: string
  priceCents: number
  currency: string
  successUrl: string
  cancelUrl: string
}) {
  try {
    const session = await (
      await stripe()
    ).checkout.sessions.create(
      {
        mode: 'payment',
        client_reference_id: purchase.id,
        metadata: { purchase_id: purchase.id, tenant_id: purchase.tenantId },
        line_items: [
          {
            quantity: 1,
            price_data: {
              currency: purchase.currency,
              unit_amount: purchase.priceCents,
              product_data: { name: purchase.name },
            },
          },
        ],
        success_url: purchase.successUrl,
        cancel_url: purchase.cancelUrl,
      },
      { idempotencyKey: `checkout:${purchase.id}` }
    )
    if (!session.url) throw new Error('Stripe returned a session without a URL')
    return { id: session.id, url: session.url }
  } catch (error) {
    throw new PaymentProviderException(
      `Stripe could not start the checkout: ${(error as Error).message}`
    )
  }
}

/**
 * The Stripe event in a webhook request, verified against STRIPE_WEBHOOK_SECRET by the SDK
 * (signature and timestamp tolerance); null when it does not verify.
 */
export async function verifiedStripeEvent(rawBody: string, signature: string | undefined) {
  const secret = process.env.STRIPE_WEBHOOK_SECRET
  if (!secret || !signature) return null
  try {
    return (await stripe()).webhooks.constructEvent(rawBody, signature, secret)
  } catch {
    return null
  }
}
