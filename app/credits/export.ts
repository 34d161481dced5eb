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
registerTenantExport(
  'plan_changes',
  tableRows('plan_changes', ['plan_id', 'effective_from', 'requested_by', 'created_at'], {
    key: ['tenant_id'],
  })
)
registerTenantExport(
  'credit_purchases',
  tableRows('credit_purchases', [
    'id',
    'pack',
    'plan_id',
    'credits',
    'price_cents',
    'currency',
    'provider',
    'status',
    'checkout_session_id',
    'ledger_entry_id',
    'requested_by',
    'resolved_by',
    'created_at',
    'resolved_at',
  ])
)
registerTenantExport(
  'credit_budgets',
  tableRows('credit_budgets', ['scope', 'subject_id', 'limit_micros', 'updated_at'], {
    key: ['scope', 'subject_id'],
  })
)
registerTenantExport(
  'credit_settings',
  tableRows('credit_settings', ['low_balance_micros', 'updated_at'], { key: ['tenant_id'] })
)
registerTenantExport(
  'budget_alerts',
  tableRows('budget_alerts', ['subject', 'period', 'threshold', 'created_at'], {
    key: ['subject', 'period', 'threshold'],
  })
)
