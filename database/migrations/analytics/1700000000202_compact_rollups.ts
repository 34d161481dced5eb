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
  latency_hist bytea NOT NULL DEFAULT ''::bytea`

const COLUMNS =
  'runs, succeeded, errors, input_tokens, output_tokens, credits_micros, latency_sum_ms, ' +
  'latency_count, latency_hist'
const SUMMED = COLUMNS.split(', ').slice(0, -1)

/**
 * Rows of \`source\` grouped by \`keys\`, histograms added: each row is expanded into its
 * histogram's pairs and its sums ride on the first pair only, so one grouping adds both.
 */
function rollUp(source: string, keys: string[]) {
  const k = keys.map((_, i) => `k${i}`)
  return `SELECT ${k.join(', ')}, ${SUMMED.map((c) => `sum(${c})`).join(', ')},
      coalesce(string_agg(int2send(bucket::int2) || int4send(n::int4), ''::bytea ORDER BY bucket)
               FILTER (WHERE bucket IS NOT NULL), ''::bytea)
    FROM (
      SELECT ${keys.map((key, i) => `${key} AS k${i}`).join(', ')}, p.bucket,
             ${SUMMED.map((c) => `sum(s.${c}) FILTER (WHERE p.ord IS NULL OR p.ord = 0) AS ${c}`).join(', ')},
             sum(p.n) AS n
      FROM ${source} s LEFT JOIN LATERAL analytics_hist_pairs(s.latency_hist) p ON true
      GROUP BY ${k.join(', ')}, p.bucket
    ) g
    GROUP BY ${k.join(', ')}`
}

/**
 * Rollups a 90-day dashboard reads in milliseconds:
 * - histograms become packed bytea — sorted (int2 bucket, int4 count) pairs, 6 bytes each —
 *   which PostgreSQL outputs and the app scans far faster than jsonb (whose text output alone
 *   cost ~100 ms per 90-day dashboard at 10M runs);
 * - usage_days: one row per tenant and local day (the KPIs, the series and the previous period
 *   from ~90 rows instead of every (agent, member, model) row), with the day's active members;
 * - usage_monthly: per (agent, member, model) and local calendar month, so breakdowns over
 *   long ranges read a month's row instead of ~30 daily ones.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.raw(`
      CREATE FUNCTION analytics_hist_pairs(h bytea) RETURNS TABLE (bucket int, n bigint, ord int)
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT (get_byte(h, i) << 8) | get_byte(h, i + 1),
               (get_byte(h, i + 2)::bigint << 24) | (get_byte(h, i + 3) << 16)
                 | (get_byte(h, i + 4) << 8) | get_byte(h, i + 5),
               i / 6
        FROM generate_series(0, length(h) - 6, 6) AS i
      $$`)
    // The sum of two histograms (the projector's upsert).
    this.schema.raw(`
      CREATE FUNCTION analytics_hist_add(a bytea, b bytea) RETURNS bytea
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT coalesce(string_agg(int2send(bucket::int2) || int4send(n::int4), ''::bytea ORDER BY bucket), ''::bytea)
        FROM (
          SELECT bucket, sum(n) AS n
          FROM (SELECT bucket, n FROM analytics_hist_pairs(a) UNION ALL SELECT bucket, n FROM analytics_hist_pairs(b)) p
          GROUP BY bucket
        ) s
      $$`)
    // As jsonb {"bucket": count} (the tenant export keeps its readable form).
    this.schema.raw(`
      CREATE FUNCTION analytics_hist_json(h bytea) RETURNS jsonb
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT coalesce(jsonb_object_agg(bucket, n ORDER BY bucket), '{}'::jsonb) FROM analytics_hist_pairs(h)
      $$`)
    this.schema.raw(`
      CREATE FUNCTION analytics_hist_of_jsonb(h jsonb) RETURNS bytea
      LANGUAGE sql IMMUTABLE AS $$
        SELECT coalesce(string_agg(int2send(k::int2) || int4send(v::int4), ''::bytea ORDER BY k::int), ''::bytea)
        FROM jsonb_each_text(h) AS e (k, v)
      $$`)
    for (const table of ['usage_hourly', 'usage_daily'])
      this.schema.raw(`
        ALTER TABLE ${table}
          ALTER COLUMN latency_hist DROP DEFAULT,
          ALTER COLUMN latency_hist TYPE bytea USING analytics_hist_of_jsonb(latency_hist),
          ALTER COLUMN latency_hist SET DEFAULT ''::bytea`)
    this.schema.raw('DROP FUNCTION analytics_hist_of_jsonb(jsonb)')
    this.schema.raw('DROP FUNCTION analytics_hist_merge(jsonb, jsonb)')

    this.schema.raw(`
      CREATE TABLE usage_days (
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        day date NOT NULL,
        ${MEASURES},
        active_members integer NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant_id, day)
      )`)
    this.schema.raw(`
      CREATE TABLE usage_monthly (
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        month date NOT NULL,
        agent_id uuid NULL,
        member_id uuid NULL,
        model varchar(200) NULL,
        ${MEASURES},
        CONSTRAINT usage_monthly_key UNIQUE NULLS NOT DISTINCT (tenant_id, month, agent_id, member_id, model)
      )`)
    // The platform page sums every tenant's recent days from the index alone.
    this.schema.raw(
      'CREATE INDEX usage_days_day ON usage_days (day) INCLUDE (tenant_id, runs, errors, credits_micros)'
    )
    for (const table of ['usage_days', 'usage_monthly']) {
      for (const sql of enableTenantRls(table)) this.schema.raw(sql)
    }
    // Existing rollups: days and months from the daily rows.
    this.schema.raw(`INSERT INTO usage_days (tenant_id, day, ${COLUMNS})
      ${rollUp('usage_daily', ['tenant_id', 'day'])}`)
    this.schema.raw(`
      UPDATE usage_days d SET active_members = m.n
      FROM (SELECT tenant_id, day, count(DISTINCT member_id) FILTER (WHERE runs > 0) AS n
            FROM usage_daily GROUP BY 1, 2) m
      WHERE d.tenant_id = m.tenant_id AND d.day = m.day`)
    this.schema
      .raw(`INSERT INTO usage_monthly (tenant_id, month, agent_id, member_id, model, ${COLUMNS})
      ${rollUp('usage_daily', ['tenant_id', "date_trunc('month', day)::date", 'agent_id', 'member_id', 'model'])}`)
  }

  async down() {
    for (const table of ['usage_monthly', 'usage_days']) {
      for (const sql of disableTenantRls(table)) this.schema.raw(sql)
      this.schema.raw(`DROP TABLE ${table}`)
    }
    this.schema.raw(`
      CREATE FUNCTION analytics_hist_merge(a jsonb, b jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT coalesce(jsonb_object_agg(k, n), '{}'::jsonb) FROM (
          SELECT k, sum(v::bigint) AS n
          FROM (SELECT * FROM jsonb_each_text(coalesce(a, '{}'::jsonb))
                UNION ALL SELECT * FROM jsonb_each_text(coalesce(b, '{}'::jsonb))) e (k, v)
          GROUP BY k
        ) s
      $$`)
    for (const table of ['usage_hourly', 'usage_daily'])
      this.schema.raw(`
        ALTER TABLE ${table}
          ALTER COLUMN latency_hist DROP DEFAULT,
          ALTER COLUMN latency_hist TYPE jsonb USING analytics_hist_json(latency_hist),
          ALTER COLUMN latency_hist SET DEFAULT '{}'::jsonb`)
    for (const fn of ['analytics_hist_json(bytea)', 'analytics_hist_add(bytea, bytea)'])
      this.schema.raw(`DROP FUNCTION ${fn}`)
    this.schema.raw('DROP FUNCTION analytics_hist_pairs(bytea)')
  }
}
