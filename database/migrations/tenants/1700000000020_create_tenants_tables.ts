import { BaseSchema } from '@adonisjs/lucid/schema'

/**
 * Tenants (workspaces), memberships with roles, and invitations. Every tenant-owned table in
 * the modules above carries `tenant_id NOT NULL` referencing tenants, leading its indexes.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.createTable('tenants', (table) => {
      table.uuid('id').primary().defaultTo(this.raw('gen_random_uuid()'))
      table.string('slug', 40).notNullable().unique()
      table.string('name', 120).notNullable()
      table.string('plan_id', 40).notNullable().defaultTo('free') // plans live in credits (above): no FK up the graph
      table.string('time_zone', 64).notNullable().defaultTo('UTC')
      table.string('custom_domain', 253).nullable().unique()
      table.string('domain_verification_token', 64).nullable()
      table.timestamp('domain_verified_at', { useTz: true }).nullable()
      table.boolean('require_two_factor').notNullable().defaultTo(false)
      table.timestamp('suspended_at', { useTz: true }).nullable()
      table.timestamp('deletion_requested_at', { useTz: true }).nullable()
      table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(this.now())
    })
    this.schema.raw(
      `ALTER TABLE tenants ADD CONSTRAINT tenants_slug_format CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9]){0,1}$')`
    )

    this.schema.createTable('memberships', (table) => {
      table.uuid('id').primary().defaultTo(this.raw('gen_random_uuid()'))
      table.uuid('tenant_id').notNullable().references('id').inTable('tenants').onDelete('CASCADE')
      table.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE')
      table.string('role', 16).notNullable()
      table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.unique(['tenant_id', 'user_id'])
      table.index(['user_id'])
    })
    this.schema.raw(
      `ALTER TABLE memberships ADD CONSTRAINT memberships_role_known
       CHECK (role IN ('owner', 'admin', 'member', 'viewer'))`
    )

    this.schema.createTable('invitations', (table) => {
      table.uuid('id').primary().defaultTo(this.raw('gen_random_uuid()'))
      table.uuid('tenant_id').notNullable().references('id').inTable('tenants').onDelete('CASCADE')
      table.string('email', 254).notNullable()
      table.string('role', 16).notNullable()
      table.string('token_hash', 64).notNullable().unique()
      table.uuid('invited_by').nullable().references('id').inTable('users').onDelete('SET NULL')
      table.timestamp('expires_at', { useTz: true }).notNullable()
      table.timestamp('accepted_at', { useTz: true }).nullable()
      table.timestamp('revoked_at', { useTz: true }).nullable()
      table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.index(['tenant_id', 'created_at'])
    })
    this.schema.raw(
      `ALTER TABLE invitations ADD CONSTRAINT invitations_role_known CHECK (role IN ('admin', 'member', 'viewer'))`
    )
    // One open invitation per email per tenant.
    this.schema.raw(
      `CREATE UNIQUE INDEX invitations_open_unique ON invitations (tenant_id, lower(email))
       WHERE accepted_at IS NULL AND revoked_at IS NULL`
    )
  }

  async down() {
    this.schema.dropTable('invitations')
    this.schema.dropTable('memberships')
    this.schema.dropTable('tenants')
  }
}
