import type { HttpContext } from '@adonisjs/core/http'
import { NotFoundException, urlFor } from '#core'
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  findWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpoints,
  recordAudit,
  redeliverWebhook,
  rotateWebhookSecret,
  WEBHOOK_EVENTS,
  type WebhookDelivery,
  type WebhookEndpoint,
} from '#platform'
import { assertWritable, authorize, currentTenant, withTenant } from '#tenants/services/tenancy'

const endpointJson = (endpoint: WebhookEndpoint) => ({
  id: endpoint.id,
  url: endpoint.url,
  events: endpoint.events,
  previous_secret_expires_at: endpoint.previousSecretExpiresAt?.toISOString() ?? null,
  created_at: endpoint.createdAt.toISOString(),
})

const deliveryJson = (delivery: WebhookDelivery) => ({
  id: delivery.id,
  event_id: delivery.eventId,
  type: delivery.eventType,
  status: delivery.status,
  attempts: delivery.attempts,
  next_attempt_at: delivery.status === 'pending' ? delivery.nextAttemptAt.toISOString() : null,
  last_status: delivery.lastStatus,
  last_error: delivery.lastError,
  created_at: delivery.createdAt.toISOString(),
  delivered_at: delivery.deliveredAt?.toISOString() ?? null,
})

/** The endpoint named in the URL, of this tenant (404 otherwise), for an owner or admin. */
async function endpointOf(ctx: HttpContext) {
  authorize(ctx, 'webhooks.write')
  const { tenant } = currentTenant(ctx)
  const endpoint = await findWebhookEndpoint(tenant.id, ctx.params.id)
  if (!endpoint) throw new NotFoundException()
  return endpoint
}

/** Writes bound to the tenant, audited with the endpoint's id. */
async function write<T>(
  ctx: HttpContext,
  action: string,
  fn: (trx: Parameters<Parameters<typeof withTenant>[1]>[0]) => Promise<T & { subjectId: string }>,
  changes: Record<string, unknown> = {}
) {
  assertWritable(ctx)
  const { tenant, membership } = currentTenant(ctx)
  return withTenant(tenant.id, async (trx) => {
    const result = await fn(trx)
    await recordAudit(
      {
        action,
        actorId: membership.userId,
        tenantId: tenant.id,
        subjectType: 'webhook_endpoint',
        subjectId: result.subjectId,
        changes,
      },
      trx
    )
    return result
  })
}

async function createEndpoint(ctx: HttpContext, url: unknown, events: unknown) {
  authorize(ctx, 'webhooks.write')
  const { tenant, membership } = currentTenant(ctx)
  return write(ctx, 'tenants.webhook.created', async (trx) => {
    const made = await createWebhookEndpoint(trx, {
      tenantId: tenant.id,
      url,
      events,
      actorId: membership.userId,
    })
    return { ...made, subjectId: made.endpoint.id }
  })
}

async function removeEndpoint(ctx: HttpContext) {
  const endpoint = await endpointOf(ctx)
  await write(
    ctx,
    'tenants.webhook.deleted',
    async (trx) => {
      await deleteWebhookEndpoint(trx, endpoint)
      return { subjectId: endpoint.id }
    },
    { url: endpoint.url }
  )
}

async function rotateSecret(ctx: HttpContext) {
  const endpoint = await endpointOf(ctx)
  const { secret } = await write(ctx, 'tenants.webhook.secret_rotated', async (trx) => ({
    secret: await rotateWebhookSecret(trx, endpoint),
    subjectId: endpoint.id,
  }))
  return { endpoint: (await findWebhookEndpoint(endpoint.tenantId, endpoint.id))!, secret }
}

async function redeliverOne(ctx: HttpContext) {
  const endpoint = await endpointOf(ctx)
  return write(ctx, 'tenants.webhook.redelivered', async (trx) => {
    const again = await redeliverWebhook(trx, endpoint, ctx.params.delivery)
    if (!again) throw new NotFoundException()
    return { ...again, subjectId: endpoint.id }
  })
}

/**
 * Outbound webhook endpoints (CONTRACT.md "Webhooks (management)"), for owners and admins: the
 * API under /api/v1/webhooks and the page /t/:tenant/webhooks. A secret is shown once, when the
 * endpoint is created or its secret rotated.
 */
export default class WebhooksController {
  async index(ctx: HttpContext) {
    authorize(ctx, 'webhooks.write')
    const { tenant } = currentTenant(ctx)
    return { data: (await listWebhookEndpoints(tenant.id)).map(endpointJson), next_cursor: null }
  }

  async store(ctx: HttpContext) {
    const body = ctx.request.body()
    const { endpoint, secret } = await createEndpoint(ctx, body.url, body.events)
    ctx.response.header('Location', `/api/v1/webhooks/${endpoint.id}`)
    return ctx.response.status(201).json({ ...endpointJson(endpoint), secret })
  }

  async show(ctx: HttpContext) {
    return endpointJson(await endpointOf(ctx))
  }

  async destroy(ctx: HttpContext) {
    await removeEndpoint(ctx)
    return ctx.response.status(204).send('')
  }

  /** POST …/secret-rotations: a new secret (shown once); the old one signs too for 24 h. */
  async rotate(ctx: HttpContext) {
    const { endpoint, secret } = await rotateSecret(ctx)
    return ctx.response.status(201).json({ ...endpointJson(endpoint), secret })
  }

  async deliveries(ctx: HttpContext) {
    const endpoint = await endpointOf(ctx)
    return { data: (await listWebhookDeliveries(endpoint)).map(deliveryJson), next_cursor: null }
  }

  async redeliver(ctx: HttpContext) {
    return ctx.response.status(202).json(deliveryJson(await redeliverOne(ctx)))
  }

  /* ------------------------------------------------------------------------------- the page */

  async page(ctx: HttpContext) {
    authorize(ctx, 'webhooks.write')
    const { tenant } = currentTenant(ctx)
    const endpoints = await listWebhookEndpoints(tenant.id)
    const withDeliveries = await Promise.all(
      endpoints.map(async (endpoint) => ({
        ...endpointJson(endpoint),
        deliveries: (await listWebhookDeliveries(endpoint, 20)).map(deliveryJson),
      }))
    )
    return ctx.view.render('tenants::pages/webhooks', {
      endpoints: withDeliveries,
      events: WEBHOOK_EVENTS,
      secret: ctx.session.flashMessages.get('webhookSecret') ?? null,
    })
  }

  async pageStore(ctx: HttpContext) {
    const { secret } = await createEndpoint(
      ctx,
      ctx.request.input('url'),
      [ctx.request.input('events', [])].flat()
    )
    return back(ctx, 'Endpoint added. Copy its signing secret now: it is shown once.', secret)
  }

  async pageDestroy(ctx: HttpContext) {
    await removeEndpoint(ctx)
    return back(ctx, 'Endpoint deleted; its pending deliveries were dropped.')
  }

  async pageRotate(ctx: HttpContext) {
    const { secret } = await rotateSecret(ctx)
    return back(ctx, 'New signing secret. The previous one keeps signing for 24 hours.', secret)
  }

  async pageRedeliver(ctx: HttpContext) {
    await redeliverOne(ctx)
    return back(ctx, 'Delivery queued again.')
  }
}

function back(ctx: HttpContext, message: string, secret?: string) {
  if (secret) ctx.session.flash('webhookSecret', secret)
  ctx.session.flash('success', message)
  return ctx.response.redirect(
    urlFor('tenants.webhooks.page', { tenant: currentTenant(ctx).tenant.slug })
  )
}
