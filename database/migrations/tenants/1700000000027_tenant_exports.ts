import { BaseSchema } from '@adonisjs/lucid/schema'

/**
 * When the tenant's data was last exported in full (`tenant:export` or the owner's download):
 * deletion is refused until there is one, so nothing is lost by deleting.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.alterTable('tenants', (table) => {
      table.timestamp('last_exported_at', { useTz: true }).nullable()
    })
  }

  async down() {
    this.schema.alterTable('tenants', (table) => table.dropColumn('last_exported_at'))
  }
}
