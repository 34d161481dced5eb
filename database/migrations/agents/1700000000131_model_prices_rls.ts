import { BaseSchema } from '@adonisjs/lucid/schema'
import { APP_ROLE, rebindTenantRls } from '#database/rls'

const TENANT_TABLES = [
  'agents',
  'agent_versions',
  'threads',
  'runs',
  'messages',
  'run_steps',
  'run_events',
]

/**
 * Prices follow their model's visibility (platform models and the tenant's own); the tenant
 * tables see no rows without a bound tenant (they raised a cast error).
 */
export default class extends BaseSchema {
  async up() {
    this.schema.raw(`ALTER TABLE model_prices ENABLE ROW LEVEL SECURITY`)
    // models is itself filtered for this role: the subquery sees only the models it may use.
    this.schema.raw(`CREATE POLICY model_prices_visible ON model_prices FOR SELECT TO ${APP_ROLE}
      USING (EXISTS (SELECT 1 FROM models m WHERE m.id = model_prices.model_id))`)
    for (const table of TENANT_TABLES) this.schema.raw(rebindTenantRls(table))
  }

  async down() {
    this.schema.raw(`DROP POLICY IF EXISTS model_prices_visible ON model_prices`)
    this.schema.raw(`ALTER TABLE model_prices DISABLE ROW LEVEL SECURITY`)
  }
}
