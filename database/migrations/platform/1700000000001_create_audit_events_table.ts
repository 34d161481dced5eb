import { BaseSchema } from '@adonisjs/lucid/schema'

/**
 * Audit trail shared by every module. Rows carry actor/tenant ids without foreign keys (platform
 * sits below auth and tenants) and form a hash chain that `audit:verify` checks.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.createTable('audit_events', (table) => {
      table.bigIncrements('id')
      table.timestamp('occurred_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.uuid('actor_id').nullable()
      table.string('actor_label', 254).nullable()
      table.uuid('impersonator_id').nullable()
      table.uuid('tenant_id').nullable()
      table.string('action', 80).notNullable()
      table.string('subject_type', 40).nullable()
      table.string('subject_id', 64).nullable()
      table.jsonb('changes').nullable()
      table.string('ip', 64).nullable()
      table.string('user_agent', 512).nullable()
      table.string('request_id', 128).nullable()
      table.string('prev_hash', 64).notNullable()
      table.string('hash', 64).notNullable().unique()
      table.index(['tenant_id', 'occurred_at'])
      table.index(['actor_id', 'occurred_at'])
    })
    this.schema.createTable('dev_mailbox', (table) => {
      table.bigIncrements('id')
      table.string('to', 254).notNullable()
      table.string('subject', 200).notNullable()
      table.text('html').nullable()
      table.text('text').nullable()
      table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.index(['to', 'created_at'])
    })
  }

  async down() {
    this.schema.dropTable('dev_mailbox')
    this.schema.dropTable('audit_events')
  }
}
