import db from '@adonisjs/lucid/services/db'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import { DateTime } from 'luxon'
import { bucketOf, HIST_THRESHOLDS } from '#analytics/histogram'

const TERMINAL = `('succeeded', 'failed', 'cancelled')`
const HOUR_MS = 3_600_000

/** What analytics counts of a run; credits are the ledger's charge when there is one. */
const RUN_FACTS = `
  SELECT r.id, r.tenant_id, r.agent_id, r.member_id, r.model, r.status, r.input_tokens, r.output_tokens,
         r.latency_ms, r.created_at, t.time_zone, coalesce(-c.amount, r.cost_micros)::text AS credits
  FROM runs r
  JOIN tenants t ON t.id = r.tenant_id
  LEFT JOIN ledger_entries c ON c.tenant_id = r.tenant_id AND c.hold_id = r.hold_id AND c.kind = 'charge'
  WHERE r.id = ? AND r.tenant_id = ? AND r.status IN ${TERMINAL}`

const COLUMNS = 'tenant_id, agent_id, member_id, model, runs, succeeded, errors, input_tokens, output_tokens, credits_micros, latency_sum_ms, latency_count, latency_hist'
const ADD = `runs = u.runs + EXCLUDED.runs, succeeded = u.succeeded + EXCLUDED.succeeded, errors = u.errors + EXCLUDED.errors,
  input_tokens = u.input_tokens + EXCLUDED.input_tokens, output_tokens = u.output_tokens + EXCLUDED.output_tokens,
  credits_micros = u.credits_micros + EXCLUDED.credits_micros, latency_sum_ms = u.latency_sum_ms + EXCLUDED.latency_sum_ms,
  latency_count = u.latency_count + EXCLUDED.latency_count, latency_hist = analytics_hist_merge(u.latency_hist, EXCLUDED.latency_hist)`

/**
 * Projections and rebuilds of one tenant exclude each other (a rebuild replaces what
 * projections add); projections share the lock among themselves.
 */
function tenantLock(trx: TransactionClientContract, tenantId: string, exclusive: boolean) {
  return trx.rawQuery(`SELECT ${exclusive ? 'pg_advisory_xact_lock' : 'pg_advisory_xact_lock_shared'}(hashtext('analytics:' || ?))`, [tenantId])
}

/** Bumps the tenant's rollup version: cached dashboards keyed by the old one are stale. */
function bumpVersion(trx: TransactionClientContract, tenantId: string) {
  return trx.rawQuery(
    `INSERT INTO analytics_versions (tenant_id, version) VALUES (?, 1)
     ON CONFLICT (tenant_id) DO UPDATE SET version = analytics_versions.version + 1, updated_at = now()`,
    [tenantId]
  )
}

/** The tenant-local day of an hour bucket; a malformed zone counts as UTC. */
export function localDay(hour: Date, timeZone: string) {
  const local = DateTime.fromJSDate(hour, { zone: timeZone })
  return (local.isValid ? local : DateTime.fromJSDate(hour, { zone: 'UTC' })).toISODate()!
}

/**
 * Adds one finished run to the hourly and daily rollups, once: the run id is claimed in
 * projected_runs first, so a replayed event changes nothing. The bucket is the run's
 * created_at, so a late event lands where the run belongs. Returns whether it counted.
 */
export async function projectRun(tenantId: string, runId: string): Promise<boolean> {
  return db.transaction(async (trx) => {
    await tenantLock(trx, tenantId, false)
    const run = (await trx.rawQuery(RUN_FACTS, [runId, tenantId])).rows[0]
    if (!run) return false
    const claimed = await trx.rawQuery(`INSERT INTO projected_runs (run_id, tenant_id) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING run_id`, [runId, tenantId])
    if (!claimed.rows.length) return false

    const hour = new Date(Math.floor(new Date(run.created_at).getTime() / HOUR_MS) * HOUR_MS)
    const bucket = bucketOf(run.latency_ms)
    const measures = [
      1,
      run.status === 'succeeded' ? 1 : 0,
      run.status === 'failed' ? 1 : 0,
      run.input_tokens,
      run.output_tokens,
      run.credits,
      run.latency_ms ?? 0,
      bucket === null ? 0 : 1,
      JSON.stringify(bucket === null ? {} : { [bucket]: 1 }),
    ]
    const keys = [run.tenant_id, run.agent_id, run.member_id, run.model]
    const values = `?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb`
    await trx.rawQuery(
      `INSERT INTO usage_hourly AS u (hour, ${COLUMNS}) VALUES (${values}) ON CONFLICT ON CONSTRAINT usage_hourly_key DO UPDATE SET ${ADD}`,
      [hour, ...keys, ...measures]
    )
    await trx.rawQuery(
      `INSERT INTO usage_daily AS u (day, ${COLUMNS}) VALUES (${values}) ON CONFLICT ON CONSTRAINT usage_daily_key DO UPDATE SET ${ADD}`,
      [localDay(hour, run.time_zone), ...keys, ...measures]
    )
    await bumpVersion(trx, tenantId)
    return true
  })
}

/**
 * Rebuilds a tenant's rollups from its runs (and ledger charges), deterministically: the
 * same runs always give the same rows. Hourly from runs, daily from hourly by the local date
 * of each hour in the tenant's time zone.
 */
export async function rebuildTenant(tenantId: string) {
  return db.transaction(async (trx) => {
    await tenantLock(trx, tenantId, true)
    // Big tenants aggregate millions of runs: let the sorts and hashes stay in memory.
    await trx.rawQuery(`SELECT set_config('work_mem', '256MB', true)`)
    for (const table of ['usage_daily', 'usage_hourly', 'projected_runs']) {
      await trx.from(table).where('tenant_id', tenantId).delete()
    }
    // One statement, so the runs claimed and the runs counted are the same snapshot. Grouped by
    // bucket first, then by key: one pass builds both the sums and the histogram.
    await trx.rawQuery(
      `WITH claimed AS (
         INSERT INTO projected_runs (run_id, tenant_id) SELECT id, tenant_id FROM runs WHERE tenant_id = ? AND status IN ${TERMINAL}
       )
       INSERT INTO usage_hourly (hour, ${COLUMNS})
       SELECT hour, tenant_id, agent_id, member_id, model, sum(runs), sum(succeeded), sum(errors), sum(input_tokens), sum(output_tokens),
              sum(credits), sum(latency_sum), sum(latency_count),
              coalesce(jsonb_object_agg(bucket, latency_count) FILTER (WHERE bucket IS NOT NULL), '{}'::jsonb)
       FROM (
         SELECT date_trunc('hour', r.created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour, r.tenant_id, r.agent_id, r.member_id, r.model,
                width_bucket(r.latency_ms, ?::int[]) AS bucket, count(*) AS runs,
                count(*) FILTER (WHERE r.status = 'succeeded') AS succeeded, count(*) FILTER (WHERE r.status = 'failed') AS errors,
                sum(r.input_tokens) AS input_tokens, sum(r.output_tokens) AS output_tokens,
                sum(coalesce(-c.amount, r.cost_micros)) AS credits, coalesce(sum(r.latency_ms), 0) AS latency_sum, count(r.latency_ms) AS latency_count
         FROM runs r
         LEFT JOIN ledger_entries c ON c.tenant_id = r.tenant_id AND c.hold_id = r.hold_id AND c.kind = 'charge'
         WHERE r.tenant_id = ? AND r.status IN ${TERMINAL}
         GROUP BY 1, 2, 3, 4, 5, 6
       ) g
       GROUP BY 1, 2, 3, 4, 5`,
      [tenantId, HIST_THRESHOLDS, tenantId]
    )
    await rollDaily(trx, tenantId)
    await bumpVersion(trx, tenantId)
    const counts = (
      await trx.rawQuery(
        `SELECT (SELECT count(*) FROM projected_runs WHERE tenant_id = ?) AS runs,
                (SELECT count(*) FROM usage_hourly WHERE tenant_id = ?) AS hourly,
                (SELECT count(*) FROM usage_daily WHERE tenant_id = ?) AS daily`,
        [tenantId, tenantId, tenantId]
      )
    ).rows[0]
    return { runs: Number(counts.runs), hourly: Number(counts.hourly), daily: Number(counts.daily) }
  })
}

/** Daily rows of a tenant from its hourly rows (replaces them). */
export async function rollDaily(trx: TransactionClientContract, tenantId: string) {
  await trx.from('usage_daily').where('tenant_id', tenantId).delete()
  // Each hourly row is expanded into its histogram buckets; its sums ride on the first bucket
  // only, so one grouping adds both without merging jsonb row by row.
  await trx.rawQuery(
    `INSERT INTO usage_daily (day, ${COLUMNS})
     SELECT day, tenant_id, agent_id, member_id, model, sum(runs), sum(succeeded), sum(errors), sum(input_tokens), sum(output_tokens),
            sum(credits_micros), sum(latency_sum_ms), sum(latency_count),
            coalesce(jsonb_object_agg(bucket, n) FILTER (WHERE bucket IS NOT NULL), '{}'::jsonb)
     FROM (
       SELECT (h.hour AT TIME ZONE t.time_zone)::date AS day, h.tenant_id, h.agent_id, h.member_id, h.model, e.key AS bucket,
              sum(h.runs) FILTER (WHERE e.ord IS NULL OR e.ord = 1) AS runs,
              sum(h.succeeded) FILTER (WHERE e.ord IS NULL OR e.ord = 1) AS succeeded,
              sum(h.errors) FILTER (WHERE e.ord IS NULL OR e.ord = 1) AS errors,
              sum(h.input_tokens) FILTER (WHERE e.ord IS NULL OR e.ord = 1) AS input_tokens,
              sum(h.output_tokens) FILTER (WHERE e.ord IS NULL OR e.ord = 1) AS output_tokens,
              sum(h.credits_micros) FILTER (WHERE e.ord IS NULL OR e.ord = 1) AS credits_micros,
              sum(h.latency_sum_ms) FILTER (WHERE e.ord IS NULL OR e.ord = 1) AS latency_sum_ms,
              sum(h.latency_count) FILTER (WHERE e.ord IS NULL OR e.ord = 1) AS latency_count,
              sum(e.value::bigint) AS n
       FROM usage_hourly h
       JOIN tenants t ON t.id = h.tenant_id
       LEFT JOIN LATERAL jsonb_each_text(h.latency_hist) WITH ORDINALITY AS e (key, value, ord) ON true
       WHERE h.tenant_id = ?
       GROUP BY 1, 2, 3, 4, 5, 6
     ) g
     GROUP BY 1, 2, 3, 4, 5`,
    [tenantId]
  )
}
