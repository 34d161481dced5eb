import { BaseSchema } from '@adonisjs/lucid/schema'

/**
 * Each remember-me token belongs to one tracked session: "log out this session" deletes it, and a
 * browser restored from it continues the same session row instead of opening a new one.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.alterTable('user_sessions', (table) => {
      // No foreign key: recycling a token deletes it before the session row learns its successor.
      table.integer('remember_token_id').nullable()
      table.index(['remember_token_id'])
    })
  }

  async down() {
    this.schema.alterTable('user_sessions', (table) => {
      table.dropColumn('remember_token_id')
    })
  }
}
