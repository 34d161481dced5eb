import { BaseSchema } from '@adonisjs/lucid/schema'

/**
 * The marketplace: a listing publishes one version of an agent (a copy of its configuration,
 * nothing else of the publisher's workspace) to every workspace. Listings are public rows, so
 * they carry `publisher_tenant_id` and no tenant row-level security: the app role (tenant-bound
 * reads) has no access to them; the catalogue's routes read them unbound, and writes go through
 * the publisher's actions only.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.createTable('listings', (table) => {
      table.uuid('id').primary().defaultTo(this.raw('gen_random_uuid()'))
      table
        .uuid('publisher_tenant_id')
        .notNullable()
        .references('id')
        .inTable('tenants')
        .onDelete('CASCADE')
      table
        .uuid('agent_id')
        .notNullable()
        .unique()
        .references('id')
        .inTable('agents')
        .onDelete('CASCADE')
      table.integer('version').notNullable()
      table.jsonb('config').notNullable()
      table.string('title', 120).notNullable()
      table.string('summary', 500).notNullable()
      table.string('category', 40).notNullable()
      table.jsonb('tags').notNullable().defaultTo('[]')
      table.jsonb('examples').notNullable().defaultTo('[]')
      table.string('status', 16).notNullable().defaultTo('published')
      table.boolean('hidden').notNullable().defaultTo(false)
      table.boolean('featured').notNullable().defaultTo(false)
      table.specificType(
        'search',
        `tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig,
           title || ' ' || summary || ' ' || category || ' ' || (tags::text))) STORED`
      )
      table.timestamp('published_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.index(['status', 'hidden', 'category', 'created_at'])
    })
    this.schema.raw(`ALTER TABLE listings ADD CONSTRAINT listings_status_check
      CHECK (status IN ('published', 'unpublished'))`)
    this.schema.raw(`CREATE INDEX listings_search ON listings USING gin (search)`)
  }

  async down() {
    this.schema.dropTable('listings')
  }
}
