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
const SUMMED = [
  'runs',
  'succeeded',
  'errors',
  'input_tokens',
  'output_tokens',
  'credits_micros',
  'latency_sum_ms',
  'latency_count',
]
const PERIODS = [
  ['usage_dims_daily', 'day'],
  ['usage_dims_weekly', 'week'],
  ['usage_dims_monthly', 'month'],
] as const

/** Rows of `source` grouped by `keys`, histograms added (as the projector's rebuild does). */
function rollUp(source: string, keys: string[]) {
  const k = keys.map((_, i) => `k${i}`).join(', ')
  return `SELECT ${k}, ${SUMMED.map((c) => `sum(${c})`).join(', ')},
      coalesce(string_agg(int2send(bucket::int2) || int4send(n::int4), ''::bytea ORDER BY bucket)
               FILTER (WHERE bucket IS NOT NULL), ''::bytea)
    FROM (
      SELECT ${keys.map((key, i) => `${key} AS k${i}`).join(', ')}, p.bucket,
             ${SUMMED.map((c) => `sum(s.${c}) FILTER (WHERE p.ord IS NULL OR p.ord = 0) AS ${c}`).join(', ')},
             sum(p.n) AS n
      FROM ${source} s LEFT JOIN LATERAL analytics_hist_pairs(s.latency_hist) p ON true
      GROUP BY ${k}, p.bucket
    ) g
    GROUP BY ${k}`
}

/**
 * Breakdown rollups per dimension instead of per (agent, member, model): usage_dims_daily,
 * _weekly and _monthly hold one row per (tenant, local period, dimension, key) — `dim` is
 * 'agent', 'member' or 'model', `key` the agent id, member id or model name (NULL: none). A
 * workspace of 100 members, 10 agents and 2 models has 112 rows a day instead of up to 2,000
 * combinations, and a breakdown adds each row once, not three times. They replace usage_weekly
 * and usage_monthly (read only by breakdowns and the platform page); usage_daily and
 * usage_hourly keep the combinations (rebuilds, hour ranges, active members). Filled from
 * usage_daily.
 */
export default class extends BaseSchema {
  async up() {
    for (const [table, period] of PERIODS) {
      this.schema.raw(`
        CREATE TABLE ${table} (
          tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
          ${period} date NOT NULL,
          dim varchar(6) NOT NULL CHECK (dim IN ('agent', 'member', 'model')),
          key varchar(200) NULL,
          ${MEASURES},
          CONSTRAINT ${table}_key UNIQUE NULLS NOT DISTINCT (tenant_id, ${period}, dim, key)
        )`)
      for (const sql of enableTenantRls(table)) this.schema.raw(sql)
      // The platform page reads every workspace's runs and errors per model from the index.
      this.schema.raw(
        `CREATE INDEX ${table}_models ON ${table} (${period}) INCLUDE (tenant_id, key, runs, errors)
         WHERE dim = 'model'`
      )
      const bucket = period === 'day' ? 's.day' : `date_trunc('${period}', s.day)::date`
      this.schema.raw(`
        INSERT INTO ${table} (${period}, tenant_id, dim, key, ${SUMMED.join(', ')}, latency_hist)
        ${rollUp(
          `(SELECT u.*, d.dim, d.key FROM usage_daily u CROSS JOIN LATERAL (VALUES
              ('agent', u.agent_id::text), ('member', u.member_id::text), ('model', u.model)
            ) AS d (dim, key))`,
          [bucket, 's.tenant_id', 's.dim', 's.key']
        )}`)
    }
    for (const table of ['usage_weekly', 'usage_monthly']) {
      for (const sql of disableTenantRls(table)) this.schema.raw(sql)
      this.schema.raw(`DROP TABLE ${table}`)
    }
  }

  async down() {
    for (const [table, period] of [
      ['usage_weekly', 'week'],
      ['usage_monthly', 'month'],
    ]) {
      this.schema.raw(`
        CREATE TABLE ${table} (
          tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
          ${period} date NOT NULL,
          agent_id uuid NULL,
          member_id uuid NULL,
          model varchar(200) NULL,
          ${MEASURES},
          CONSTRAINT ${table}_key UNIQUE NULLS NOT DISTINCT (tenant_id, ${period}, agent_id, member_id, model)
        )`)
      for (const sql of enableTenantRls(table)) this.schema.raw(sql)
      this.schema.raw(
        `CREATE INDEX ${table}_${period}_models ON ${table} (${period}) INCLUDE (tenant_id, model, runs, errors)`
      )
      this.schema.raw(`
        INSERT INTO ${table} (${period}, tenant_id, agent_id, member_id, model, ${SUMMED.join(', ')}, latency_hist)
        ${rollUp('usage_daily', [
          `date_trunc('${period}', s.day)::date`,
          ...['s.tenant_id', 's.agent_id', 's.member_id', 's.model'],
        ])}`)
    }
    for (const [table] of PERIODS) {
      for (const sql of disableTenantRls(table)) this.schema.raw(sql)
      this.schema.raw(`DROP TABLE ${table}`)
    }
  }
}
