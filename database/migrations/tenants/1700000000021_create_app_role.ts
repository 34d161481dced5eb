import { BaseSchema } from '@adonisjs/lucid/schema'
import { APP_ROLE } from '#database/rls'

/**
 * The role the app assumes inside tenant transactions: no BYPASSRLS, owns nothing, so RLS
 * policies bind it. Roles are cluster-wide, hence "if not exists" and no drop on rollback.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.raw(`DO $$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${APP_ROLE}') THEN
        CREATE ROLE ${APP_ROLE} NOLOGIN NOBYPASSRLS;
      END IF;
    END $$`)
    this.schema.raw(`GRANT USAGE ON SCHEMA public TO ${APP_ROLE}`)
    this.schema.raw(`GRANT SELECT ON tenants, memberships TO ${APP_ROLE}`)
  }

  async down() {
    this.schema.raw(`REVOKE ALL ON tenants, memberships FROM ${APP_ROLE}`)
    this.schema.raw(`REVOKE USAGE ON SCHEMA public FROM ${APP_ROLE}`)
  }
}
