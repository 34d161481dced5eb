import { BaseSchema } from '@adonisjs/lucid/schema'

/**
 * Agents answer from the workspace's documents: a version may attach all or chosen documents
 * (`knowledge`), and a run keeps the chunks its answer cited.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.alterTable('agent_versions', (table) => {
      table.jsonb('knowledge').nullable()
    })
    this.schema.alterTable('runs', (table) => {
      table.jsonb('citations').nullable()
    })
  }

  async down() {
    this.schema.alterTable('runs', (table) => table.dropColumn('citations'))
    this.schema.alterTable('agent_versions', (table) => table.dropColumn('knowledge'))
  }
}
