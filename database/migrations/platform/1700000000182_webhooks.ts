import { BaseSchema } from '@adonisjs/lucid/schema'
import { APP_ROLE, disableTenantRls, enableTenantRls, ensureAppRole } from '#database/rls'

/**
 * Outbound webhooks: a tenant's endpoints (secrets encrypted with APP_KEY; the previous secret
 * stays valid for an overlap window after a rotation) and the deliveries, which are also the
 * durable queue: a pending row is due at `next_attempt_at`, claimed with SKIP LOCKED by any
 * process. One delivery per (endpoint, event id). No foreign keys into tenants: platform sits
 * below it (a tenant's purge deletes its rows).
 */
export default class extends BaseSchema {
  async up() {
    this.schema.raw(`
      CREATE TABLE webhook_endpoints (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL,
        url varchar(2000) NOT NULL,
        events text[] NOT NULL,
        secret_encrypted text NOT NULL,
        previous_secret_encrypted text NULL,
        previous_secret_expires_at timestamptz NULL,
        created_by uuid NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`)
    this.schema.raw(
      `CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, created_at)`
    )
    this.schema.raw(`
      CREATE TABLE webhook_deliveries (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL,
        endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
        event_id uuid NOT NULL,
        event_type varchar(40) NOT NULL,
        payload text NOT NULL,
        status varchar(10) NOT NULL DEFAULT 'pending',
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_status integer NULL,
        last_error varchar(500) NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        delivered_at timestamptz NULL,
        CONSTRAINT webhook_deliveries_status_known CHECK (status IN ('pending', 'delivered', 'failed')),
        CONSTRAINT webhook_deliveries_once UNIQUE (endpoint_id, event_id)
      )`)
    this.schema.raw(
      `CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'`
    )
    this.schema.raw(
      `CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at DESC)`
    )
    this.schema.raw(ensureAppRole())
    for (const table of ['webhook_endpoints', 'webhook_deliveries'])
      for (const statement of enableTenantRls(table)) this.schema.raw(statement)
  }

  async down() {
    for (const table of ['webhook_deliveries', 'webhook_endpoints']) {
      for (const statement of disableTenantRls(table)) this.schema.raw(statement)
      this.schema.raw(`REVOKE ALL ON ${table} FROM ${APP_ROLE}`)
      this.schema.raw(`DROP TABLE ${table}`)
    }
  }
}
