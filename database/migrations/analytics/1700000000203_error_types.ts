import { BaseSchema } from '@adonisjs/lucid/schema'
import { disableTenantRls, enableTenantRls } from '#database/rls'

/**
 * Failed runs per error type (RunFacts.errorType): by UTC hour (the 24-hour range, and the
 * source a rebuild re-localises days from) and by tenant-local day (every other range), like
 * usage_hourly and usage_daily. A few rows per tenant and day: only failures are counted.
 * Failures projected before this migration are counted here from the runs already projected
 * (hour of created_at; day in the tenant's zone, UTC for one PostgreSQL does not know).
 */
export default class extends BaseSchema {
  async up() {
    this.schema.raw(`
      CREATE TABLE usage_errors_hourly (
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        hour timestamptz NOT NULL,
        error_type varchar(40) NOT NULL,
        runs integer NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant_id, hour, error_type)
      )`)
    this.schema.raw(`
      CREATE TABLE usage_errors_daily (
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        day date NOT NULL,
        error_type varchar(40) NOT NULL,
        runs integer NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant_id, day, error_type)
      )`)
    for (const table of ['usage_errors_hourly', 'usage_errors_daily']) {
      for (const sql of enableTenantRls(table)) this.schema.raw(sql)
    }
    this.schema.raw(`
      INSERT INTO usage_errors_hourly (hour, tenant_id, error_type, runs)
      SELECT date_trunc('hour', r.created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', r.tenant_id,
             coalesce(r.error_type, 'other'), count(*)
      FROM runs r JOIN projected_runs p ON p.run_id = r.id
      WHERE r.status = 'failed'
      GROUP BY 1, 2, 3`)
    this.schema.raw(`
      INSERT INTO usage_errors_daily (day, tenant_id, error_type, runs)
      SELECT (h.hour AT TIME ZONE
               CASE WHEN EXISTS (SELECT 1 FROM pg_timezone_names z WHERE z.name = t.time_zone)
                    THEN t.time_zone ELSE 'UTC' END)::date,
             h.tenant_id, h.error_type, sum(h.runs)
      FROM usage_errors_hourly h JOIN tenants t ON t.id = h.tenant_id
      GROUP BY 1, 2, 3`)
  }

  async down() {
    for (const table of ['usage_errors_daily', 'usage_errors_hourly']) {
      for (const sql of disableTenantRls(table)) this.schema.raw(sql)
      this.schema.raw(`DROP TABLE ${table}`)
    }
  }
}
