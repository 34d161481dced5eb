import { BaseSchema } from '@adonisjs/lucid/schema'

/**
 * Feature flags: a key switched on or off globally, per plan or per tenant (the most specific
 * row wins). `marketplace.publish` starts on globally: operators switch it off where needed.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.createTable('feature_flags', (table) => {
      table.increments('id')
      table.string('key', 100).notNullable()
      table.string('scope', 10).notNullable()
      table.string('scope_id', 100).notNullable().defaultTo('')
      table.boolean('enabled').notNullable()
      table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.unique(['key', 'scope', 'scope_id'])
    })
    this.schema.raw(`ALTER TABLE feature_flags ADD CONSTRAINT feature_flags_scope_check
      CHECK (scope IN ('global', 'plan', 'tenant') AND (scope = 'global') = (scope_id = ''))`)
    this.defer(async (db) => {
      await db.rawQuery(`INSERT INTO feature_flags (key, scope, scope_id, enabled)
        VALUES ('marketplace.publish', 'global', '', true) ON CONFLICT DO NOTHING`)
    })
  }

  async down() {
    this.schema.dropTable('feature_flags')
  }
}
