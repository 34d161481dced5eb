import { BaseSchema } from '@adonisjs/lucid/schema'

/** Identity is global: users, their sessions, API tokens, remember-me and one-time tokens. */
export default class extends BaseSchema {
  async up() {
    this.schema.createTable('users', (table) => {
      table.uuid('id').primary().defaultTo(this.raw('gen_random_uuid()'))
      table.string('email', 254).notNullable()
      table.string('name', 120).notNullable()
      table.text('password').notNullable()
      table.string('time_zone', 64).notNullable().defaultTo('UTC')
      table.boolean('platform_admin').notNullable().defaultTo(false)
      table.timestamp('email_verified_at', { useTz: true }).nullable()
      table.timestamp('disabled_at', { useTz: true }).nullable()
      table.text('totp_secret_encrypted').nullable()
      table.timestamp('totp_enabled_at', { useTz: true }).nullable()
      table.bigInteger('totp_last_step').nullable()
      table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(this.now())
    })
    // Case-insensitive uniqueness: emails are stored as typed, compared lower-cased.
    this.schema.raw('CREATE UNIQUE INDEX users_email_lower_unique ON users (lower(email))')

    this.schema.createTable('user_sessions', (table) => {
      table.uuid('id').primary().defaultTo(this.raw('gen_random_uuid()'))
      table.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE')
      table.string('ip', 64).nullable()
      table.string('user_agent', 512).nullable()
      table.boolean('remembered').notNullable().defaultTo(false)
      table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.timestamp('last_seen_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.timestamp('revoked_at', { useTz: true }).nullable()
      table.index(['user_id', 'revoked_at'])
    })

    this.schema.createTable('remember_me_tokens', (table) => {
      table.increments('id')
      table.uuid('tokenable_id').notNullable().references('id').inTable('users').onDelete('CASCADE')
      table.string('hash').notNullable().unique()
      table.timestamp('created_at', { useTz: true }).notNullable()
      table.timestamp('updated_at', { useTz: true }).notNullable()
      table.timestamp('expires_at', { useTz: true }).notNullable()
    })

    this.schema.createTable('auth_access_tokens', (table) => {
      table.increments('id')
      table.uuid('tokenable_id').notNullable().references('id').inTable('users').onDelete('CASCADE')
      table.uuid('tenant_id').nullable()
      table.string('type').notNullable()
      table.string('name').nullable()
      table.string('hash').notNullable().unique()
      table.text('abilities').notNullable()
      table.timestamp('created_at', { useTz: true })
      table.timestamp('updated_at', { useTz: true })
      table.timestamp('last_used_at', { useTz: true }).nullable()
      table.timestamp('expires_at', { useTz: true }).nullable()
      table.index(['tokenable_id'])
    })

    // Password reset and email verification: single use, expiring, stored hashed.
    this.schema.createTable('user_tokens', (table) => {
      table.uuid('id').primary().defaultTo(this.raw('gen_random_uuid()'))
      table.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE')
      table.string('purpose', 32).notNullable()
      table.string('token_hash', 64).notNullable().unique()
      table.string('email', 254).nullable()
      table.timestamp('expires_at', { useTz: true }).notNullable()
      table.timestamp('used_at', { useTz: true }).nullable()
      table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.index(['user_id', 'purpose'])
    })
    this.schema.raw(
      `ALTER TABLE user_tokens ADD CONSTRAINT user_tokens_purpose_known
       CHECK (purpose IN ('password_reset', 'email_verification'))`
    )

    this.schema.createTable('recovery_codes', (table) => {
      table.uuid('id').primary().defaultTo(this.raw('gen_random_uuid()'))
      table.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE')
      table.string('code_hash', 64).notNullable()
      table.timestamp('used_at', { useTz: true }).nullable()
      table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.unique(['user_id', 'code_hash'])
    })
  }

  async down() {
    for (const name of [
      'recovery_codes',
      'user_tokens',
      'auth_access_tokens',
      'remember_me_tokens',
      'user_sessions',
      'users',
    ]) {
      this.schema.dropTable(name)
    }
  }
}
