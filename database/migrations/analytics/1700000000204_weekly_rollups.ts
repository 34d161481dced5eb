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
const FIRST = 'p.ord IS NULL OR p.ord = 0'
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

/**
 * usage_weekly: per (agent, member, model) and local ISO week (keyed by its Monday), so the
 * days of a range outside its whole months are read a week at a time (a 90-day breakdown reads
 * ~15 rows per key instead of ~30). Filled from the daily rows.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.raw(`
      CREATE TABLE usage_weekly (
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        week date NOT NULL,
        agent_id uuid NULL,
        member_id uuid NULL,
        model varchar(200) NULL,
        ${MEASURES},
        CONSTRAINT usage_weekly_key UNIQUE NULLS NOT DISTINCT (tenant_id, week, agent_id, member_id, model)
      )`)
    for (const sql of enableTenantRls('usage_weekly')) this.schema.raw(sql)
    // The platform page reads every workspace's recent runs and errors per model from indexes.
    for (const [table, period] of [
      ['usage_daily', 'day'],
      ['usage_weekly', 'week'],
      ['usage_monthly', 'month'],
    ])
      this.schema.raw(
        `CREATE INDEX ${table}_${period}_models ON ${table} (${period}) INCLUDE (tenant_id, model, runs, errors)`
      )
    this.schema.raw('DROP INDEX usage_daily_day')
    // Each daily row expanded into its histogram's pairs, its sums riding on the first pair.
    this.schema.raw(`
      INSERT INTO usage_weekly (week, tenant_id, agent_id, member_id, model, ${SUMMED.join(', ')}, latency_hist)
      SELECT week, tenant_id, agent_id, member_id, model, ${SUMMED.map((c) => `sum(${c})`).join(', ')},
             coalesce(string_agg(int2send(bucket::int2) || int4send(n::int4), ''::bytea ORDER BY bucket)
                      FILTER (WHERE bucket IS NOT NULL), ''::bytea)
      FROM (
        SELECT date_trunc('week', s.day)::date AS week, s.tenant_id, s.agent_id, s.member_id, s.model,
               p.bucket, ${SUMMED.map((c) => `sum(s.${c}) FILTER (WHERE ${FIRST}) AS ${c}`).join(', ')},
               sum(p.n) AS n
        FROM usage_daily s LEFT JOIN LATERAL analytics_hist_pairs(s.latency_hist) p ON true
        GROUP BY 1, 2, 3, 4, 5, 6
      ) g
      GROUP BY 1, 2, 3, 4, 5`)
  }

  async down() {
    this.schema.raw('CREATE INDEX usage_daily_day ON usage_daily (day)')
    this.schema.raw('DROP INDEX usage_daily_day_models')
    this.schema.raw('DROP INDEX usage_monthly_month_models')
    for (const sql of disableTenantRls('usage_weekly')) this.schema.raw(sql)
    this.schema.raw('DROP TABLE usage_weekly')
  }
}
