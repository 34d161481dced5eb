import { BaseSchema } from '@adonisjs/lucid/schema'
import { APP_ROLE, CURRENT_TENANT } from '#database/rls'

const WRITES = ['INSERT', 'UPDATE', 'DELETE'] as const

/**
 * A workspace's own providers, models and prices are written inside its tenant transaction: the
 * app role may write only rows of the bound tenant (platform rows stay the owner's).
 */
export default class extends BaseSchema {
  async up() {
    for (const table of ['providers', 'models']) {
      for (const command of WRITES) {
        const check = command === 'DELETE' ? '' : ` WITH CHECK (tenant_id = ${CURRENT_TENANT})`
        const using = command === 'INSERT' ? '' : ` USING (tenant_id = ${CURRENT_TENANT})`
        this.schema.raw(`CREATE POLICY ${table}_tenant_${command.toLowerCase()} ON ${table}
          FOR ${command} TO ${APP_ROLE}${using}${check}`)
      }
      this.schema.raw(`GRANT INSERT, UPDATE, DELETE ON ${table} TO ${APP_ROLE}`)
    }
    const ownModel = `EXISTS (SELECT 1 FROM models m WHERE m.id = model_prices.model_id
      AND m.tenant_id = ${CURRENT_TENANT})`
    for (const command of WRITES) {
      const check = command === 'DELETE' ? '' : ` WITH CHECK (${ownModel})`
      const using = command === 'INSERT' ? '' : ` USING (${ownModel})`
      this.schema.raw(`CREATE POLICY model_prices_tenant_${command.toLowerCase()} ON model_prices
        FOR ${command} TO ${APP_ROLE}${using}${check}`)
    }
    this.schema.raw(`GRANT INSERT, UPDATE, DELETE ON model_prices TO ${APP_ROLE}`)
  }

  async down() {
    for (const table of ['providers', 'models', 'model_prices']) {
      this.schema.raw(`REVOKE INSERT, UPDATE, DELETE ON ${table} FROM ${APP_ROLE}`)
      for (const command of WRITES)
        this.schema.raw(
          `DROP POLICY IF EXISTS ${table}_tenant_${command.toLowerCase()} ON ${table}`
        )
    }
  }
}
