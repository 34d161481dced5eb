import { BaseSchema } from '@adonisjs/lucid/schema'
import { rebindTenantRls } from '#database/rls'

/** Without a bound tenant the rollups' policies see no rows (they raised a cast error). */
export default class extends BaseSchema {
  async up() {
    for (const table of ['usage_hourly', 'usage_daily', 'projected_runs', 'analytics_versions'])
      this.schema.raw(rebindTenantRls(table))
  }

  async down() {}
}
