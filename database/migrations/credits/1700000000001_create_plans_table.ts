import { BaseSchema } from '@adonisjs/lucid/schema'

/** Plans (reference data, seeded here idempotently). Money is integer micro-credits. */
export default class extends BaseSchema {
  async up() {
    this.schema.createTable('plans', (table) => {
      table.string('id', 40).primary()
      table.string('name', 80).notNullable()
      table.bigInteger('monthly_allowance_micros').notNullable().defaultTo(0)
      table.integer('max_members').nullable()
      table.integer('sort_order').notNullable().defaultTo(0)
      table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(this.now())
    })
    this.schema.raw(
      `ALTER TABLE plans ADD CONSTRAINT plans_allowance_non_negative CHECK (monthly_allowance_micros >= 0)`
    )
    this.defer(async (db) => {
      await db.rawQuery(`
        INSERT INTO plans (id, name, monthly_allowance_micros, max_members, sort_order) VALUES
          ('free', 'Free', 5000000, 3, 1),
          ('team', 'Team', 100000000, 25, 2),
          ('business', 'Business', 1000000000, NULL, 3)
        ON CONFLICT (id) DO NOTHING`)
    })
  }

  async down() {
    this.schema.dropTable('plans')
  }
}
