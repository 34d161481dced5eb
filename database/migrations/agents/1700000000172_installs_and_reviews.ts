import { BaseSchema } from '@adonisjs/lucid/schema'
import { disableTenantRls, enableTenantRls } from '#database/rls'

/**
 * Installs and reviews: an installed agent remembers its listing and the version it runs (an
 * update is offered when the listing moves on); a workspace reviews a listing once (a second
 * review replaces the first), and only after a succeeded run of an installed copy.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.alterTable('agents', (table) => {
      table.uuid('listing_id').nullable().references('id').inTable('listings').onDelete('SET NULL')
      table.integer('installed_version').nullable()
    })
    this.schema.createTable('listing_reviews', (table) => {
      table.uuid('id').primary().defaultTo(this.raw('gen_random_uuid()'))
      table
        .uuid('listing_id')
        .notNullable()
        .references('id')
        .inTable('listings')
        .onDelete('CASCADE')
      table.uuid('tenant_id').notNullable().references('id').inTable('tenants').onDelete('CASCADE')
      table.smallint('rating').notNullable()
      table.text('body').notNullable()
      table.uuid('created_by').nullable()
      table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.unique(['listing_id', 'tenant_id'])
      table.index(['tenant_id'])
    })
    this.schema.raw(`ALTER TABLE listing_reviews ADD CONSTRAINT listing_reviews_rating_check
      CHECK (rating BETWEEN 1 AND 5)`)
    for (const sql of enableTenantRls('listing_reviews')) this.schema.raw(sql)
  }

  async down() {
    for (const sql of disableTenantRls('listing_reviews')) this.schema.raw(sql)
    this.schema.dropTable('listing_reviews')
    this.schema.alterTable('agents', (table) =>
      table.dropColumns('listing_id', 'installed_version')
    )
  }
}
