import { BaseSchema } from '@adonisjs/lucid/schema'

/**
 * Idempotency-Key records for POSTs that create runs, grants or purchases: scoped to
 * (tenant, route, key) for 24 h; a completed request's response is replayed.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.createTable('idempotency_keys', (table) => {
      table.uuid('tenant_id').notNullable()
      table.string('route', 120).notNullable()
      table.string('key', 255).notNullable()
      table.string('request_hash', 64).notNullable()
      table.string('status', 16).notNullable().defaultTo('in_flight')
      table.integer('response_status').nullable()
      table.jsonb('response_body').nullable()
      table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.timestamp('expires_at', { useTz: true }).notNullable()
      table.primary(['tenant_id', 'route', 'key'])
      table.index(['expires_at'])
    })
  }

  async down() {
    this.schema.dropTable('idempotency_keys')
  }
}
