import db from '@adonisjs/lucid/services/db'
import { keysetRows } from '#core'

/**
 * A tenant's audit events for its data export (tenants registers the section: platform sits
 * below it). The hash chain links every tenant's events, so its hashes stay out.
 */
export function tenantAuditRows(tenantId: string) {
  return keysetRows(() =>
    db
      .from('audit_events')
      .where('tenant_id', tenantId)
      .select(
        'id',
        'occurred_at',
        'actor_id',
        'actor_label',
        'impersonator_id',
        'action',
        'subject_type',
        'subject_id',
        'changes',
        'ip',
        'user_agent',
        'request_id'
      )
  )
}

/** A tenant's idempotency keys (24 h replay records) without the replayed bodies. */
export function tenantIdempotencyRows(tenantId: string) {
  return keysetRows(
    () =>
      db
        .from('idempotency_keys')
        .where('tenant_id', tenantId)
        .select(
          'route',
          'key',
          'status',
          'response_status',
          'reference',
          'created_at',
          'expires_at'
        ),
    { key: ['route', 'key'] }
  )
}

/** A tenant's in-app notifications (about the tenant, to its users). */
export function tenantNotificationRows(tenantId: string) {
  return keysetRows(() =>
    db
      .from('notifications')
      .where('tenant_id', tenantId)
      .select('id', 'user_id', 'kind', 'title', 'body', 'url', 'read_at', 'created_at')
  )
}

/** A tenant's webhook endpoints, secrets excluded. */
export function tenantWebhookEndpointRows(tenantId: string) {
  return keysetRows(() =>
    db
      .from('webhook_endpoints')
      .where('tenant_id', tenantId)
      .select('id', 'url', 'events', 'previous_secret_expires_at', 'created_by', 'created_at')
  )
}

/** A tenant's webhook deliveries (the payloads are the tenant's own event facts). */
export function tenantWebhookDeliveryRows(tenantId: string) {
  return keysetRows(() =>
    db
      .from('webhook_deliveries')
      .where('tenant_id', tenantId)
      .select(
        'id',
        'endpoint_id',
        'event_id',
        'event_type',
        'payload',
        'status',
        'attempts',
        'last_status',
        'last_error',
        'created_at',
        'delivered_at'
      )
  )
}

/** Removes a purged tenant's rows that have no foreign key to cascade from (platform sits below tenants). */
export async function purgeTenantPlatformRows(
  tenantId: string,
  client: { from: (typeof db)['from'] } = db
) {
  await client.from('webhook_endpoints').where('tenant_id', tenantId).delete()
  await client.from('notifications').where('tenant_id', tenantId).delete()
}
