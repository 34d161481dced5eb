import { BaseSchema } from '@adonisjs/lucid/schema'

/** How long a workspace keeps run inputs and outputs: 30, 90 or 365 days, or forever (NULL). */
export default class extends BaseSchema {
  async up() {
    this.schema.raw(`ALTER TABLE tenants ADD COLUMN run_retention_days integer NULL`)
    this.schema.raw(`ALTER TABLE tenants ADD CONSTRAINT tenants_run_retention_known
      CHECK (run_retention_days IS NULL OR run_retention_days IN (30, 90, 365))`)
  }

  async down() {
    this.schema.raw(`ALTER TABLE tenants DROP COLUMN run_retention_days`)
  }
}
