import { BaseSchema } from '@adonisjs/lucid/schema'
import { APP_ROLE, ensureAppRole } from '#database/rls'

/**
 * The role the app assumes inside tenant transactions: no BYPASSRLS, owns nothing, so RLS
 * policies bind it. Roles are cluster-wide, hence "if not exists" and no drop on rollback.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.raw(ensureAppRole())
    this.schema.raw(`GRANT USAGE ON SCHEMA public TO ${APP_ROLE}`)
    this.schema.raw(`GRANT SELECT ON tenants, memberships TO ${APP_ROLE}`)
  }

  async down() {
    this.schema.raw(`REVOKE ALL ON tenants, memberships FROM ${APP_ROLE}`)
    this.schema.raw(`REVOKE USAGE ON SCHEMA public FROM ${APP_ROLE}`)
  }
}
