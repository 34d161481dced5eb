import { BaseSchema } from '@adonisjs/lucid/schema'
import { rebindTenantRls } from '#database/rls'

/** Without a bound tenant the ledger's policies see no rows (they raised a cast error). */
export default class extends BaseSchema {
  async up() {
    for (const table of ['credit_accounts', 'credit_holds', 'ledger_entries'])
      this.schema.raw(rebindTenantRls(table))
  }

  async down() {}
}
