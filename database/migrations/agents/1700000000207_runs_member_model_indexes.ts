import { BaseSchema } from '@adonisjs/lucid/schema'

/**
 * The runs list's member and model filters (analytics drill-down), newest first: without these,
 * a rare member or model scanned the workspace's runs by date until it found a page (~1 s at
 * 10M runs; every run when nothing matched). Runs without a member or model never match one.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.raw(
      `CREATE INDEX runs_tenant_member ON runs (tenant_id, member_id, created_at) WHERE member_id IS NOT NULL`
    )
    this.schema.raw(
      `CREATE INDEX runs_tenant_model ON runs (tenant_id, model, created_at) WHERE model IS NOT NULL`
    )
  }

  async down() {
    this.schema.raw(`DROP INDEX IF EXISTS runs_tenant_model`)
    this.schema.raw(`DROP INDEX IF EXISTS runs_tenant_member`)
  }
}
