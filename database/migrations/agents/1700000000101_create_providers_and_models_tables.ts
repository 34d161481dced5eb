import { BaseSchema } from '@adonisjs/lucid/schema'

/**
 * Model providers and their catalog. The built-in `simulator` provider and its two models are
 * reference data, seeded here idempotently. Prices are micro-credits per 1M tokens.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.createTable('providers', (table) => {
      table.uuid('id').primary().defaultTo(this.raw('gen_random_uuid()'))
      table.string('slug', 40).notNullable().unique()
      table.string('name', 80).notNullable()
      table.string('kind', 32).notNullable()
      table.string('base_url', 2048).nullable()
      table.text('api_key_encrypted').nullable()
      table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(this.now())
    })
    this.schema.raw(
      `ALTER TABLE providers ADD CONSTRAINT providers_kind_known
       CHECK (kind IN ('openai_compatible', 'anthropic', 'simulator'))`
    )

    this.schema.createTable('models', (table) => {
      table.uuid('id').primary().defaultTo(this.raw('gen_random_uuid()'))
      table
        .uuid('provider_id')
        .notNullable()
        .references('id')
        .inTable('providers')
        .onDelete('CASCADE')
      table.string('name', 200).notNullable().unique()
      table.bigInteger('input_price_micros').notNullable()
      table.bigInteger('output_price_micros').notNullable()
      table.integer('context_window').notNullable()
      table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(this.now())
    })
    this.schema.raw(
      `ALTER TABLE models ADD CONSTRAINT models_prices_non_negative
       CHECK (input_price_micros >= 0 AND output_price_micros >= 0)`
    )

    this.defer(async (db) => {
      await db.rawQuery(`
        INSERT INTO providers (slug, name, kind) VALUES ('simulator', 'Simulator', 'simulator')
        ON CONFLICT (slug) DO NOTHING`)
      await db.rawQuery(`
        INSERT INTO models (provider_id, name, input_price_micros, output_price_micros, context_window)
        SELECT p.id, m.name, 1000000, 2000000, 128000
        FROM providers p CROSS JOIN (VALUES ('simulator/echo'), ('simulator/lorem')) AS m(name)
        WHERE p.slug = 'simulator'
        ON CONFLICT (name) DO NOTHING`)
    })
  }

  async down() {
    this.schema.dropTable('models')
    this.schema.dropTable('providers')
  }
}
