import { BaseSchema } from '@adonisjs/lucid/schema'
import { disableTenantRls, enableTenantRls } from '#database/rls'

const MEASURES = `
  runs integer NOT NULL DEFAULT 0,
  succeeded integer NOT NULL DEFAULT 0,
  errors integer NOT NULL DEFAULT 0,
  input_tokens bigint NOT NULL DEFAULT 0,
  output_tokens bigint NOT NULL DEFAULT 0,
  credits_micros bigint NOT NULL DEFAULT 0,
  latency_sum_ms bigint NOT NULL DEFAULT 0,
  latency_count integer NOT NULL DEFAULT 0,
  latency_hist jsonb NOT NULL DEFAULT '{}'::jsonb`

/**
 * Analytics rollups (the read side). usage_hourly is keyed by the UTC hour of the run's
 * created_at; usage_daily by the tenant-local date of that hour, so days follow the tenant's
 * time zone (23 and 25 hour DST days included). latency_hist is a sparse histogram
 * {bucket: count} whose bucket layout is fixed in app/analytics/histogram.ts; merging is adding
 * counts per key. projected_runs makes projection idempotent: a run is counted once.
 * NULLS NOT DISTINCT (PostgreSQL 15): runs without an agent or member still share one row.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.raw(`
      CREATE TABLE usage_hourly (
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        hour timestamptz NOT NULL,
        agent_id uuid NULL,
        member_id uuid NULL,
        model varchar(200) NULL,
        ${MEASURES},
        CONSTRAINT usage_hourly_key UNIQUE NULLS NOT DISTINCT (tenant_id, hour, agent_id, member_id, model)
      )`)
    this.schema.raw(`
      CREATE TABLE usage_daily (
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        day date NOT NULL,
        agent_id uuid NULL,
        member_id uuid NULL,
        model varchar(200) NULL,
        ${MEASURES},
        CONSTRAINT usage_daily_key UNIQUE NULLS NOT DISTINCT (tenant_id, day, agent_id, member_id, model)
      )`)
    // Platform pages read every tenant's recent days.
    this.schema.raw(`CREATE INDEX usage_daily_day ON usage_daily (day)`)
    this.schema.raw(`
      CREATE TABLE projected_runs (
        run_id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        projected_at timestamptz NOT NULL DEFAULT now()
      )`)
    this.schema.raw(`CREATE INDEX projected_runs_tenant ON projected_runs (tenant_id)`)
    // No foreign key to runs: a rebuild claims millions of runs at once and a per-row check
    // doubles its time; a deleted run's marker is inert (its id never finishes again).
    // Bumped with every projection: dashboard caches are keyed by it.
    this.schema.raw(`
      CREATE TABLE analytics_versions (
        tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
        version bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`)

    // Sum of two sparse histograms (the projector's upsert).
    this.schema.raw(`
      CREATE FUNCTION analytics_hist_merge(a jsonb, b jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT coalesce(jsonb_object_agg(k, n), '{}'::jsonb) FROM (
          SELECT k, sum(v::bigint) AS n
          FROM (SELECT * FROM jsonb_each_text(coalesce(a, '{}'::jsonb))
                UNION ALL SELECT * FROM jsonb_each_text(coalesce(b, '{}'::jsonb))) e (k, v)
          GROUP BY k
        ) s
      $$`)

    for (const table of ['usage_hourly', 'usage_daily', 'projected_runs', 'analytics_versions']) {
      for (const sql of enableTenantRls(table)) this.schema.raw(sql)
    }
  }

  async down() {
    for (const table of ['analytics_versions', 'projected_runs', 'usage_daily', 'usage_hourly']) {
      for (const sql of disableTenantRls(table)) this.schema.raw(sql)
      this.schema.raw(`DROP TABLE ${table}`)
    }
    this.schema.raw('DROP FUNCTION analytics_hist_merge(jsonb, jsonb)')
  }
}
