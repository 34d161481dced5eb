/*
 * The credits module's part of the tenant data export (registered through the tenants door).
 */
import { registerTenantExport, tableRows } from '#tenants'

registerTenantExport(
  'credit_accounts',
  tableRows('credit_accounts', ['balance', 'held', 'updated_at'], { key: ['tenant_id'] })
)
registerTenantExport(
  'ledger_entries',
  tableRows(
    'ledger_entries',
    [
      'id',
      'seq',
      'kind',
      'amount',
      'balance_after',
      'reference',
      'idempotency_key',
      'actor_id',
      'member_id',
      'agent_id',
      'hold_id',
      'price',
      'created_at',
    ],
    // The tenant's exact order (its balance_after chain), on an index.
    { key: ['seq'] }
  )
)
registerTenantExport(
  'credit_holds',
  tableRows('credit_holds', [
    'id',
    'amount',
    'charged',
    'reference',
    'idempotency_key',
    'member_id',
    'agent_id',
    'status',
    'expires_at',
    'resolved_at',
    'created_at',
  ])
)
