/*
 * The analytics module's part of the tenant data export (registered through the tenants door):
 * the rollups as they stand, and the projection's bookkeeping.
 */
import db from '@adonisjs/lucid/services/db'
import { keysetRows } from '#core'
import { registerTenantExport, tableRows } from '#tenants'

const DIMENSIONS = ['agent_id', 'member_id', 'model']
const MEASURES = [
  'runs',
  'succeeded',
  'errors',
  'input_tokens',
  'output_tokens',
  'credits_micros',
  'latency_sum_ms',
  'latency_count',
  // The histogram as {"bucket": count}, not its packed bytes.
  db.raw('analytics_hist_json(latency_hist) AS latency_hist'),
]

// A bucket holds one row per (agent, member, model): pages end on whole buckets, on the
// (tenant_id, bucket, …) unique index.
registerTenantExport('usage_hourly', (tenantId) =>
  keysetRows(
    () =>
      db
        .from('usage_hourly')
        .where('tenant_id', tenantId)
        .select('hour', ...DIMENSIONS, ...MEASURES),
    { key: ['hour'], grouped: true, within: DIMENSIONS }
  )
)
registerTenantExport('usage_daily', (tenantId) =>
  keysetRows(
    () =>
      db
        .from('usage_daily')
        .where('tenant_id', tenantId)
        // A date as its text: a JS Date would shift it by the process's time zone.
        .select(db.raw(`to_char(day, 'YYYY-MM-DD') as day`), ...DIMENSIONS, ...MEASURES),
    { key: ['day'], grouped: true, within: DIMENSIONS }
  )
)
// Per dimension: one row per (bucket, dim, key); usage_running's are the sums up to that day.
for (const [table, period] of [
  ['usage_dims_daily', 'day'],
  ['usage_dims_weekly', 'week'],
  ['usage_dims_monthly', 'month'],
  ['usage_running', 'day'],
]) {
  registerTenantExport(table, (tenantId) =>
    keysetRows(
      () =>
        db
          .from(table)
          .where('tenant_id', tenantId)
          .select(
            db.raw(`to_char(??, 'YYYY-MM-DD') as ??`, [period, period]),
            'dim',
            'key',
            ...MEASURES
          ),
      { key: [period], grouped: true, within: ['dim', 'key'] }
    )
  )
}
registerTenantExport('usage_days', (tenantId) =>
  keysetRows(
    () =>
      db
        .from('usage_days')
        .where('tenant_id', tenantId)
        .select(db.raw(`to_char(day, 'YYYY-MM-DD') as day`), ...MEASURES, 'active_members'),
    { key: ['day'] }
  )
)
// Failed runs per error type: one row per (bucket, error type).
registerTenantExport('usage_errors_hourly', (tenantId) =>
  keysetRows(
    () =>
      db
        .from('usage_errors_hourly')
        .where('tenant_id', tenantId)
        .select('hour', 'error_type', 'runs'),
    { key: ['hour', 'error_type'] }
  )
)
registerTenantExport('usage_errors_daily', (tenantId) =>
  keysetRows(
    () =>
      db
        .from('usage_errors_daily')
        .where('tenant_id', tenantId)
        .select(db.raw(`to_char(day, 'YYYY-MM-DD') as day`), 'error_type', 'runs'),
    { key: ['day', 'error_type'] }
  )
)
registerTenantExport(
  'projected_runs',
  tableRows('projected_runs', ['run_id', 'projected_at'], { key: ['run_id'] })
)
registerTenantExport(
  'analytics_versions',
  tableRows('analytics_versions', ['version', 'updated_at'], { key: ['tenant_id'] })
)
