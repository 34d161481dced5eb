import { BaseSchema } from '@adonisjs/lucid/schema'

/**
 * Agents II: tenant-owned providers (bring your own key) next to platform-wide ones, provider
 * settings (timeouts, retries, breaker), upstream model ids, the price book with effective dates
 * (history is never rewritten: a new price is a new row), and usage/price facts on runs.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.alterTable('providers', (table) => {
      // Null = platform-wide (set by platform admins); otherwise owned by one tenant.
      table.uuid('tenant_id').nullable().references('id').inTable('tenants').onDelete('CASCADE')
      table.jsonb('settings').notNullable().defaultTo('{}')
      // The key is never shown again: its last four characters identify it in pages.
      table.string('api_key_last4', 4).nullable()
    })
    this.schema.raw(`ALTER TABLE providers DROP CONSTRAINT providers_slug_unique`)
    this.schema.raw(
      `CREATE UNIQUE INDEX providers_platform_slug_unique ON providers (slug) WHERE tenant_id IS NULL`
    )
    this.schema.raw(
      `CREATE UNIQUE INDEX providers_tenant_slug_unique ON providers (tenant_id, slug) WHERE tenant_id IS NOT NULL`
    )

    this.schema.alterTable('models', (table) => {
      // Copied from the provider so names can be unique per catalog scope.
      table.uuid('tenant_id').nullable().references('id').inTable('tenants').onDelete('CASCADE')
      // The id sent to the provider (e.g. "gpt-4o-mini"); null = the catalog name.
      table.string('upstream_model', 200).nullable()
      table.index(['provider_id'])
    })
    this.schema.raw(`ALTER TABLE models DROP CONSTRAINT models_name_unique`)
    this.schema.raw(
      `CREATE UNIQUE INDEX models_platform_name_unique ON models (name) WHERE tenant_id IS NULL`
    )
    this.schema.raw(
      `CREATE UNIQUE INDEX models_tenant_name_unique ON models (tenant_id, name) WHERE tenant_id IS NOT NULL`
    )

    this.schema.createTable('model_prices', (table) => {
      table.uuid('id').primary().defaultTo(this.raw('gen_random_uuid()'))
      table.uuid('model_id').notNullable().references('id').inTable('models').onDelete('CASCADE')
      table.bigInteger('input_price_micros').notNullable()
      table.bigInteger('output_price_micros').notNullable()
      table.timestamp('effective_from', { useTz: true }).notNullable()
      table.uuid('created_by').nullable()
      table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.unique(['model_id', 'effective_from'])
    })
    this.schema.raw(
      `ALTER TABLE model_prices ADD CONSTRAINT model_prices_non_negative
       CHECK (input_price_micros >= 0 AND output_price_micros >= 0)`
    )

    this.schema.alterTable('runs', (table) => {
      table.boolean('usage_estimated').notNullable().defaultTo(false)
      table.integer('cached_tokens').notNullable().defaultTo(0)
      table.integer('reasoning_tokens').notNullable().defaultTo(0)
      // The price in force when the run started, of the model that was charged.
      table.jsonb('price').nullable()
    })
    this.schema.alterTable('run_steps', (table) => {
      table.boolean('usage_estimated').notNullable().defaultTo(false)
      table.jsonb('price').nullable()
      table.jsonb('tool_calls').nullable()
    })

    // Defence in depth for pages run as the app role: a tenant sees platform rows and its own.
    for (const name of ['providers', 'models']) {
      this.schema.raw(`ALTER TABLE ${name} ENABLE ROW LEVEL SECURITY`)
      this.schema.raw(`CREATE POLICY ${name}_visible ON ${name} FOR SELECT TO agora_app
        USING (tenant_id IS NULL OR tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)`)
    }
    this.schema.raw(`GRANT SELECT ON model_prices TO agora_app`)

    // The price each existing model had so far becomes its first price-book entry.
    this.defer(async (db) => {
      await db.rawQuery(`
        INSERT INTO model_prices (model_id, input_price_micros, output_price_micros, effective_from)
        SELECT id, input_price_micros, output_price_micros, created_at FROM models
        ON CONFLICT (model_id, effective_from) DO NOTHING`)
    })
  }

  async down() {
    for (const name of ['providers', 'models']) {
      this.schema.raw(`DROP POLICY IF EXISTS ${name}_visible ON ${name}`)
      this.schema.raw(`ALTER TABLE ${name} DISABLE ROW LEVEL SECURITY`)
    }
    this.schema.raw(`REVOKE ALL ON model_prices FROM agora_app`)
    this.schema.alterTable('run_steps', (table) => {
      table.dropColumns('usage_estimated', 'price', 'tool_calls')
    })
    this.schema.alterTable('runs', (table) => {
      table.dropColumns('usage_estimated', 'cached_tokens', 'reasoning_tokens', 'price')
    })
    this.schema.dropTable('model_prices')
    this.schema.raw(`DELETE FROM models WHERE tenant_id IS NOT NULL`)
    this.schema.raw(`DROP INDEX models_tenant_name_unique`)
    this.schema.raw(`DROP INDEX models_platform_name_unique`)
    this.schema.alterTable('models', (table) => {
      table.dropIndex(['provider_id'])
      table.dropColumns('tenant_id', 'upstream_model')
      table.unique(['name'])
    })
    this.schema.raw(`DELETE FROM providers WHERE tenant_id IS NOT NULL`)
    this.schema.raw(`DROP INDEX providers_tenant_slug_unique`)
    this.schema.raw(`DROP INDEX providers_platform_slug_unique`)
    this.schema.alterTable('providers', (table) => {
      table.dropColumns('tenant_id', 'settings', 'api_key_last4')
      table.unique(['slug'])
    })
  }
}
