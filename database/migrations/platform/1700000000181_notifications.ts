import { BaseSchema } from '@adonisjs/lucid/schema'
import { APP_ROLE, disableTenantRls, enableTenantRls, ensureAppRole } from '#database/rls'

/**
 * In-app notifications per user (optionally about one tenant) and per-user email preferences.
 * `dedupe_key` makes a notification idempotent per user (an alert sent twice lands once).
 * No foreign keys: platform sits below auth and tenants.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.raw(`
      CREATE TABLE notifications (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL,
        tenant_id uuid NULL,
        kind varchar(40) NOT NULL,
        title varchar(200) NOT NULL,
        body text NOT NULL DEFAULT '',
        url varchar(500) NULL,
        dedupe_key varchar(200) NULL,
        read_at timestamptz NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`)
    this.schema.raw(
      `CREATE INDEX notifications_user_created ON notifications (user_id, created_at DESC, id DESC)`
    )
    this.schema.raw(
      `CREATE INDEX notifications_user_unread ON notifications (user_id) WHERE read_at IS NULL`
    )
    this.schema.raw(
      `CREATE UNIQUE INDEX notifications_user_dedupe ON notifications (user_id, dedupe_key)
       WHERE dedupe_key IS NOT NULL`
    )
    this.schema.raw(`
      CREATE TABLE notification_preferences (
        user_id uuid NOT NULL,
        kind varchar(40) NOT NULL,
        email boolean NOT NULL,
        PRIMARY KEY (user_id, kind)
      )`)
    // Alerts are recorded inside a tenant transaction: as the app role, bound to that tenant.
    this.schema.raw(ensureAppRole())
    for (const statement of enableTenantRls('notifications')) this.schema.raw(statement)
  }

  async down() {
    for (const statement of disableTenantRls('notifications')) this.schema.raw(statement)
    this.schema.raw(`REVOKE ALL ON notifications FROM ${APP_ROLE}`)
    this.schema.raw('DROP TABLE notification_preferences')
    this.schema.raw('DROP TABLE notifications')
  }
}
