import { BaseSchema } from '@adonisjs/lucid/schema'
import { APP_ROLE, ensureAppRole } from '#database/rls'

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
    // Pages bound to a tenant read as the app role (the nav's unread count among them).
    this.schema.raw(ensureAppRole())
    this.schema.raw(
      `GRANT SELECT, INSERT, UPDATE ON notifications, notification_preferences TO ${APP_ROLE}`
    )
  }

  async down() {
    this.schema.raw('DROP TABLE notification_preferences')
    this.schema.raw('DROP TABLE notifications')
  }
}
