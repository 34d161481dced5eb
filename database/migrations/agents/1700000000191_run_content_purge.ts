import { BaseSchema } from '@adonisjs/lucid/schema'

/**
 * Retention: when a run's inputs and outputs were erased (its usage, cost and status stay). The
 * partial index lets the purge find a workspace's runs not yet erased, oldest first.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.raw(`ALTER TABLE runs ADD COLUMN content_purged_at timestamptz NULL`)
    this.schema.raw(
      `CREATE INDEX runs_tenant_unpurged ON runs (tenant_id, created_at) WHERE content_purged_at IS NULL`
    )
  }

  async down() {
    this.schema.raw(`DROP INDEX runs_tenant_unpurged`)
    this.schema.raw(`ALTER TABLE runs DROP COLUMN content_purged_at`)
  }
}
