import { BaseSchema } from '@adonisjs/lucid/schema'
import { disableTenantRls, enableTenantRls } from '#database/rls'

/**
 * Embedding models: a catalog model is for chat or for embeddings (`kind`); `simulator/embed`
 * (free, offline) is reference data. A workspace chooses the model that embeds its knowledge
 * (`knowledge_settings`; no row = simulator/embed, null = full text only), and a document
 * records which model embedded its chunks, so a query is compared with vectors of its own model.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.alterTable('models', (table) => {
      table.string('kind', 16).notNullable().defaultTo('chat')
    })
    this.schema.raw(
      `ALTER TABLE models ADD CONSTRAINT models_kind_check CHECK (kind IN ('chat', 'embedding'))`
    )
    this.schema.alterTable('knowledge_documents', (table) => {
      table.string('embedding_model', 200).nullable()
    })
    this.schema.createTable('knowledge_settings', (table) => {
      table.uuid('tenant_id').primary().references('id').inTable('tenants').onDelete('CASCADE')
      table.string('embedding_model', 200).nullable()
      table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(this.now())
    })
    for (const sql of enableTenantRls('knowledge_settings')) this.schema.raw(sql)

    this.defer(async (db) => {
      const { rows } = await db.rawQuery(`
        INSERT INTO models (provider_id, name, kind, input_price_micros, output_price_micros, context_window)
        SELECT p.id, 'simulator/embed', 'embedding', 0, 0, 8192
        FROM providers p WHERE p.slug = 'simulator' AND p.tenant_id IS NULL
        ON CONFLICT DO NOTHING
        RETURNING id, created_at`)
      for (const row of rows)
        await db.rawQuery(
          `INSERT INTO model_prices (model_id, input_price_micros, output_price_micros, effective_from)
           VALUES (?, 0, 0, ?)`,
          [row.id, row.created_at]
        )
      // Chunks embedded before this migration were embedded by the simulator.
      await db.rawQuery(`UPDATE knowledge_documents SET embedding_model = 'simulator/embed'
        WHERE status = 'ready' AND EXISTS (
          SELECT 1 FROM pg_attribute a WHERE a.attrelid = 'knowledge_chunks'::regclass
             AND a.attname = 'embedding' AND NOT a.attisdropped)`)
    })
  }

  async down() {
    for (const sql of disableTenantRls('knowledge_settings')) this.schema.raw(sql)
    this.schema.dropTable('knowledge_settings')
    this.schema.alterTable('knowledge_documents', (table) => table.dropColumn('embedding_model'))
    this.schema.raw(`DELETE FROM models WHERE name = 'simulator/embed' AND tenant_id IS NULL`)
    this.schema.raw(`ALTER TABLE models DROP CONSTRAINT models_kind_check`)
    this.schema.alterTable('models', (table) => table.dropColumn('kind'))
  }
}
