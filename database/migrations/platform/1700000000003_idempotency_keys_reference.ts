import { BaseSchema } from '@adonisjs/lucid/schema'
import { APP_ROLE, enableTenantRls, ensureAppRole } from '#database/rls'

/**
 * What a key created (`run:<id>`), so the owner of that object can free a key left in flight by a
 * crash; the table joins row-level security because run outcomes complete keys inside their
 * tenant-bound transaction.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.alterTable('idempotency_keys', (table) => {
      table.string('reference', 120).nullable()
      table.index(['tenant_id', 'reference'])
    })
    // Platform migrates before tenants, which otherwise creates the role.
    this.schema.raw(ensureAppRole())
    this.schema.raw(`GRANT USAGE ON SCHEMA public TO ${APP_ROLE}`)
    for (const sql of enableTenantRls('idempotency_keys')) this.schema.raw(sql)
  }

  async down() {
    this.schema.raw(`REVOKE ALL ON idempotency_keys FROM ${APP_ROLE}`)
    this.schema.raw(`DROP POLICY IF EXISTS idempotency_keys_tenant_isolation ON idempotency_keys`)
    this.schema.raw(`ALTER TABLE idempotency_keys DISABLE ROW LEVEL SECURITY`)
    this.schema.alterTable('idempotency_keys', (table) => {
      table.dropColumn('reference')
    })
  }
}
