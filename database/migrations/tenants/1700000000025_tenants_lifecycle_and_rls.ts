import { BaseSchema } from '@adonisjs/lucid/schema'
import { APP_ROLE, disableTenantRls, enableTenantRls } from '#database/rls'

/** Tables of this module whose rows belong to one tenant; RLS binds them for the app role. */
const RLS_TABLES = ['memberships', 'invitations']

/**
 * Invitation bookkeeping (who accepted, when last sent), a suspension reason, and row-level
 * security on memberships and invitations. The policies bind only `agora_app`, which the app
 * assumes inside `withTenant`; cross-tenant reads that must stay possible (a user's workspace
 * list, accepting an invitation by its token) run outside such a transaction.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.alterTable('invitations', (table) => {
      table.uuid('accepted_by').nullable().references('id').inTable('users').onDelete('SET NULL')
      table.timestamp('last_sent_at', { useTz: true }).notNullable().defaultTo(this.now())
    })
    this.schema.alterTable('tenants', (table) => {
      table.string('suspension_reason', 500).nullable()
    })
    for (const table of RLS_TABLES) {
      for (const statement of enableTenantRls(table)) this.schema.raw(statement)
    }
    // Tenant pages read member names inside tenant transactions; never the password or 2FA secret.
    this.schema.raw(`GRANT SELECT (id, name, email, totp_enabled_at) ON users TO ${APP_ROLE}`)
  }

  async down() {
    this.schema.raw(`REVOKE SELECT (id, name, email, totp_enabled_at) ON users FROM ${APP_ROLE}`)
    for (const table of RLS_TABLES) {
      for (const statement of disableTenantRls(table)) this.schema.raw(statement)
    }
    // Back to the grants of the app-role migration: SELECT on memberships, nothing on invitations.
    this.schema.raw(`REVOKE INSERT, UPDATE, DELETE ON memberships FROM ${APP_ROLE}`)
    this.schema.raw(`REVOKE ALL ON invitations FROM ${APP_ROLE}`)
    this.schema.alterTable('tenants', (table) => table.dropColumn('suspension_reason'))
    this.schema.alterTable('invitations', (table) => {
      table.dropColumn('last_sent_at')
      table.dropColumn('accepted_by')
    })
  }
}
