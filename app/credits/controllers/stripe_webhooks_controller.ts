import type { HttpContext } from '@adonisjs/core/http'
import { problem } from '#core'
import { verifiedStripeEvent } from '#credits/services/payments'
import { handleStripeEvent } from '#credits/actions/purchases'

/**
 * POST /webhooks/stripe: Stripe's deliveries. The signature is checked by the SDK over the raw
 * body; a missing or bad one is a 400 and changes nothing. Handled and duplicate events are 200
 * (Stripe stops retrying); a failure while applying one is a 500, so Stripe delivers it again.
 */
export default class StripeWebhooksController {
  async store(ctx: HttpContext) {
    const event = await verifiedStripeEvent(
      ctx.request.raw() ?? '',
      ctx.request.header('stripe-signature')
    )
    if (!event)
      return ctx.response
        .status(400)
        .header('content-type', 'application/problem+json')
        .send(
          problem(400, 'The Stripe signature is missing or does not verify.', {
            request_id: ctx.request.id(),
          })
        )
    const outcome = await handleStripeEvent(event)
    return { received: true, outcome }
  }
}
