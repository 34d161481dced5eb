import { BaseSchema } from '@adonisjs/lucid/schema'
import { APP_ROLE, CURRENT_TENANT } from '#database/rls'

/** Inside its tenant transaction the app role may update its own tenant row (settings, suspension). */
export default class extends BaseSchema {
  async up() {
    this.schema.raw(`CREATE POLICY tenants_own_row_update ON tenants FOR UPDATE TO ${APP_ROLE}
      USING (id = ${CURRENT_TENANT}) WITH CHECK (id = ${CURRENT_TENANT})`)
    this.schema.raw(`GRANT UPDATE ON tenants TO ${APP_ROLE}`)
  }

  async down() {
    this.schema.raw(`REVOKE UPDATE ON tenants FROM ${APP_ROLE}`)
    this.schema.raw(`DROP POLICY IF EXISTS tenants_own_row_update ON tenants`)
  }
}
