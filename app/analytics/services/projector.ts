import db from '@adonisjs/lucid/services/db'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import { DateTime } from 'luxon'
import { finishedRunFactsSource, type RunFacts } from '#agents'
import { tenantTimeZone } from '#tenants'
import {
  addPackedHistogram,
  bucketOf,
  HIST_THRESHOLDS,
  packHistogram,
  sparseHistogram,
  type Histogram,
} from '#analytics/histogram'

const TERMINAL_STATUSES = new Set(['succeeded', 'failed', 'cancelled'])
const HOUR_MS = 3_600_000

const MEASURES =
  'runs, succeeded, errors, input_tokens, output_tokens, credits_micros, latency_sum_ms, ' +
  'latency_count, latency_hist'
const DIMS = 'agent_id, member_id, model'
const DIMS_OF_S = ['s.agent_id', 's.member_id', 's.model']
/** A breakdown dimension and the fact field that keys it (the usage_dims_* rows). */
const BREAKDOWNS = [
  ['agent', 'agentId'],
  ['member', 'memberId'],
  ['model', 'model'],
] as const
const ADD = `runs = u.runs + EXCLUDED.runs, succeeded = u.succeeded + EXCLUDED.succeeded,
  errors = u.errors + EXCLUDED.errors,
  input_tokens = u.input_tokens + EXCLUDED.input_tokens, output_tokens = u.output_tokens + EXCLUDED.output_tokens,
  credits_micros = u.credits_micros + EXCLUDED.credits_micros,
  latency_sum_ms = u.latency_sum_ms + EXCLUDED.latency_sum_ms,
  latency_count = u.latency_count + EXCLUDED.latency_count,
  latency_hist = analytics_hist_add(u.latency_hist, EXCLUDED.latency_hist)`

const COMBINATION = [
  ['agent_id', 'uuid'],
  ['member_id', 'uuid'],
  ['model', 'varchar'],
] as const
const DIMENSION = [
  ['dim', 'varchar'],
  ['key', 'varchar'],
] as const

/**
 * The rollup tables: per (agent, member, model) by UTC hour and local day; per dimension and
 * key (agent, member or model apart: what breakdowns read) by local day, ISO week and month;
 * per tenant and local day (no dimensions: the KPIs and series read ~90 rows).
 */
const TABLES = {
  usage_hourly: { bucket: 'hour', type: 'timestamptz', keys: COMBINATION },
  usage_daily: { bucket: 'day', type: 'date', keys: COMBINATION },
  usage_dims_daily: { bucket: 'day', type: 'date', keys: DIMENSION },
  usage_dims_weekly: { bucket: 'week', type: 'date', keys: DIMENSION },
  usage_dims_monthly: { bucket: 'month', type: 'date', keys: DIMENSION },
  usage_days: { bucket: 'day', type: 'date', keys: [] },
} as const
type Table = keyof typeof TABLES

/** Failed runs per error type, by UTC hour and by local day (see upsertErrors). */
const ERROR_TABLES = {
  usage_errors_hourly: { bucket: 'hour', type: 'timestamptz' },
  usage_errors_daily: { bucket: 'day', type: 'date' },
} as const
type ErrorTable = keyof typeof ERROR_TABLES

/** SQL that packs (bucket, count) rows into a histogram (`bucket` null for none). */
const PACK = `coalesce(string_agg(int2send(bucket::int2) || int4send(n::int4), ''::bytea ORDER BY bucket)
  FILTER (WHERE bucket IS NOT NULL), ''::bytea)`
const SUMMED = MEASURES.split(', ').slice(0, -1)

/**
 * Rows of `source` grouped by `keys`, histograms added: each row is expanded into its
 * histogram's pairs and its sums ride on the first pair only, so one grouping adds both.
 */
function rollUp(source: string, keys: string[]) {
  const k = keys.map((_, i) => `k${i}`).join(', ')
  return `SELECT ${k}, ${SUMMED.map((c) => `sum(${c})`).join(', ')}, ${PACK}
    FROM (
      SELECT ${keys.map((key, i) => `${key} AS k${i}`).join(', ')}, p.bucket,
             ${SUMMED.map((c) => `sum(s.${c}) FILTER (WHERE p.ord IS NULL OR p.ord = 0) AS ${c}`).join(', ')},
             sum(p.n) AS n
      FROM ${source} s LEFT JOIN LATERAL analytics_hist_pairs(s.latency_hist) p ON true
      GROUP BY ${k}, p.bucket
    ) g
    GROUP BY ${k}`
}

/** Recounts the active members of (tenant, day) pairs of usage_days from usage_daily. */
function countActiveMembers(trx: TransactionClientContract, tenantIds: string[], days: string[]) {
  return trx.rawQuery(
    `UPDATE usage_days d SET active_members = (
       SELECT count(DISTINCT x.member_id) FROM usage_daily x
       WHERE x.tenant_id = d.tenant_id AND x.day = d.day AND x.runs > 0)
     FROM unnest(?::uuid[], ?::date[]) AS t (tenant_id, day)
     WHERE d.tenant_id = t.tenant_id AND d.day = t.day`,
    [tenantIds, days]
  )
}

/**
 * Projections and rebuilds of one tenant exclude each other (a rebuild replaces what
 * projections add); projections share the lock among themselves.
 */
function tenantLock(trx: TransactionClientContract, tenantId: string, exclusive: boolean) {
  return trx.rawQuery(
    `SELECT ${exclusive ? 'pg_advisory_xact_lock' : 'pg_advisory_xact_lock_shared'}(hashtext('analytics:' || ?))`,
    [tenantId]
  )
}

/** Bumps each tenant's rollup version once: cached dashboards keyed by the old one are stale. */
function bumpVersions(trx: TransactionClientContract, tenantIds: string[]) {
  return trx.rawQuery(
    `INSERT INTO analytics_versions (tenant_id, version) SELECT t, 1 FROM unnest(?::uuid[]) AS t
     ON CONFLICT (tenant_id) DO UPDATE SET version = analytics_versions.version + 1, updated_at = now()`,
    [tenantIds]
  )
}

/** The Monday of a date's ISO week (`date_trunc('week', day)` in SQL). */
export function mondayOf(day: string) {
  const at = Date.parse(`${day}T00:00:00Z`)
  const back = (new Date(at).getUTCDay() + 6) % 7
  return new Date(at - back * 86_400_000).toISOString().slice(0, 10)
}

/** The tenant-local day of an hour bucket; a malformed zone counts as UTC. */
export function localDay(hour: Date, timeZone: string) {
  const local = DateTime.fromJSDate(hour, { zone: timeZone })
  return (local.isValid ? local : DateTime.fromJSDate(hour, { zone: 'UTC' })).toISODate()!
}

/** The sums of one rollup row, built in JS from a batch of facts. */
type RollupRow = {
  bucket: string
  tenantId: string
  /** The values of the table's key columns (see TABLES). */
  keys: (string | null)[]
  runs: number
  succeeded: number
  errors: number
  inputTokens: number
  outputTokens: number
  credits: bigint
  latencySum: number
  latencyCount: number
  hist: Histogram
}

function emptyRow(bucket: string, tenantId: string, keys: (string | null)[]): RollupRow {
  return {
    bucket,
    tenantId,
    keys,
    runs: 0,
    succeeded: 0,
    errors: 0,
    inputTokens: 0,
    outputTokens: 0,
    credits: 0n,
    latencySum: 0,
    latencyCount: 0,
    hist: {},
  }
}

function addFact(
  rows: Map<string, RollupRow>,
  bucket: string,
  keys: (string | null)[],
  fact: RunFacts,
  latencyBucket: number | null
) {
  const key = JSON.stringify([fact.tenantId, bucket, ...keys])
  let row = rows.get(key)
  if (!row) rows.set(key, (row = emptyRow(bucket, fact.tenantId, keys)))
  row.runs++
  if (fact.status === 'succeeded') row.succeeded++
  if (fact.status === 'failed') row.errors++
  row.inputTokens += fact.inputTokens
  row.outputTokens += fact.outputTokens
  row.credits += BigInt(fact.costMicros)
  if (latencyBucket !== null) {
    row.latencySum += fact.latencyMs!
    row.latencyCount++
    row.hist[latencyBucket] = (row.hist[latencyBucket] ?? 0) + 1
  }
}

const byKey = <T>([a]: [string, T], [b]: [string, T]) => (a < b ? -1 : a > b ? 1 : 0)

/** Failed runs of one (tenant, bucket, error type), built in JS from a batch of facts. */
type ErrorRow = { bucket: string; tenantId: string; errorType: string; runs: number }

function addError(rows: Map<string, ErrorRow>, bucket: string, fact: RunFacts) {
  // Facts from before error types (a process still running old code) count as `other`.
  const errorType = fact.errorType ?? 'other'
  const key = JSON.stringify([fact.tenantId, bucket, errorType])
  const row = rows.get(key)
  if (row) row.runs++
  else rows.set(key, { bucket, tenantId: fact.tenantId, errorType, runs: 1 })
}

/** One multi-row upsert of an error-type table, in key order (as upsertRollups). */
async function upsertErrors(
  trx: TransactionClientContract,
  table: ErrorTable,
  rows: Map<string, ErrorRow>
) {
  if (!rows.size) return
  const sorted = [...rows].sort(byKey).map(([, row]) => row)
  const { bucket, type } = ERROR_TABLES[table]
  await trx.rawQuery(
    `INSERT INTO ${table} AS u (${bucket}, tenant_id, error_type, runs)
     SELECT * FROM unnest(?::${type}[], ?::uuid[], ?::varchar[], ?::int[])
     ON CONFLICT (tenant_id, ${bucket}, error_type) DO UPDATE SET runs = u.runs + EXCLUDED.runs`,
    [
      sorted.map((r) => r.bucket),
      sorted.map((r) => r.tenantId),
      sorted.map((r) => r.errorType),
      sorted.map((r) => r.runs),
    ]
  )
}

/**
 * One multi-row upsert of a rollup table. Rows go in key order, so concurrent batches lock
 * shared rows in the same order and never deadlock. Histograms travel as hex.
 */
async function upsertRollups(
  trx: TransactionClientContract,
  table: Table,
  rows: Map<string, RollupRow>
) {
  if (!rows.size) return
  const sorted = [...rows].sort(byKey).map(([, row]) => row)
  const { bucket, type, keys } = TABLES[table]
  const names = keys.map(([column]) => column)
  const k = keys.map((_, i) => `k${i}`)
  await trx.rawQuery(
    `INSERT INTO ${table} AS u (${[bucket, 'tenant_id', ...names].join(', ')}, ${MEASURES})
     SELECT ${['b', 't', ...k].join(', ')}, r, s, e, i, o, c, ls, lc, decode(h, 'hex')
     FROM unnest(?::${type}[], ?::uuid[], ${keys.map(([, t]) => `?::${t}[], `).join('')}
                 ?::int[], ?::int[], ?::int[],
                 ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::int[], ?::text[])
          AS x (${['b', 't', ...k].join(', ')}, r, s, e, i, o, c, ls, lc, h)
     ON CONFLICT ${keys.length ? `ON CONSTRAINT ${table}_key` : `(tenant_id, ${bucket})`}
     DO UPDATE SET ${ADD}`,
    [
      sorted.map((r) => r.bucket),
      sorted.map((r) => r.tenantId),
      // Null elements are SQL NULLs (the binding types know only arrays without them).
      ...keys.map((_, i) => sorted.map((r) => r.keys[i]) as string[]),
      sorted.map((r) => r.runs),
      sorted.map((r) => r.succeeded),
      sorted.map((r) => r.errors),
      sorted.map((r) => String(r.inputTokens)),
      sorted.map((r) => String(r.outputTokens)),
      sorted.map((r) => r.credits.toString()),
      sorted.map((r) => String(r.latencySum)),
      sorted.map((r) => r.latencyCount),
      sorted.map((r) => packHistogram(r.hist).toString('hex')),
    ]
  )
}

/** The running-sum key of a per-dimension daily row or a day total ('total', ''). */
const runningKey = (row: RollupRow): [string, string] =>
  row.keys.length ? [row.keys[0]!, row.keys[1] ?? ''] : ['total', '']

/** usage_running rows as unnest arrays: (t, d, k, y, r, s, e, i, o, c, ls, lc, h). */
const RUNNING_ROWS = `unnest(?::uuid[], ?::varchar[], ?::varchar[], ?::date[], ?::int[], ?::int[],
  ?::int[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::int[], ?::text[])
  AS x (t, d, k, y, r, s, e, i, o, c, ls, lc, h)`

function runningBindings(rows: RollupRow[]) {
  return [
    rows.map((r) => r.tenantId),
    rows.map((r) => runningKey(r)[0]),
    rows.map((r) => runningKey(r)[1]),
    rows.map((r) => r.bucket),
    rows.map((r) => r.runs),
    rows.map((r) => r.succeeded),
    rows.map((r) => r.errors),
    rows.map((r) => String(r.inputTokens)),
    rows.map((r) => String(r.outputTokens)),
    rows.map((r) => r.credits.toString()),
    rows.map((r) => String(r.latencySum)),
    rows.map((r) => r.latencyCount),
    rows.map((r) => packHistogram(r.hist).toString('hex')),
  ]
}

/**
 * Adds a batch's per-dimension daily rows and day totals to the running sums: the delta of
 * day D goes into the key's rows from D on, and a missing row of D starts from the key's last
 * row before D. One day per key per round (an UPDATE … FROM changes a row once); a batch
 * spans one or two days per key unless it carries late facts. Under the tenant's exclusive lock.
 */
async function addToRunning(trx: TransactionClientContract, deltas: RollupRow[]) {
  const perKey = new Map<string, RollupRow[]>()
  for (const row of deltas) {
    const key = JSON.stringify([row.tenantId, ...runningKey(row)])
    const list = perKey.get(key)
    if (list) list.push(row)
    else perKey.set(key, [row])
  }
  const lists = [...perKey]
    .sort(byKey)
    .map(([, rows]) => rows.sort((a, b) => (a.bucket < b.bucket ? -1 : 1)))
  for (let round = 0; ; round++) {
    const rows = lists.map((list) => list[round]).filter((row) => row !== undefined)
    if (!rows.length) return
    const bindings = runningBindings(rows)
    await trx.rawQuery(
      `UPDATE usage_running u SET runs = u.runs + x.r, succeeded = u.succeeded + x.s,
         errors = u.errors + x.e, input_tokens = u.input_tokens + x.i,
         output_tokens = u.output_tokens + x.o, credits_micros = u.credits_micros + x.c,
         latency_sum_ms = u.latency_sum_ms + x.ls, latency_count = u.latency_count + x.lc,
         latency_hist = analytics_hist_add(u.latency_hist, decode(x.h, 'hex'))
       FROM ${RUNNING_ROWS}
       WHERE u.tenant_id = x.t AND u.dim = x.d AND u.key = x.k AND u.day >= x.y`,
      bindings
    )
    await trx.rawQuery(
      `INSERT INTO usage_running (tenant_id, dim, key, day, ${MEASURES})
       SELECT x.t, x.d, x.k, x.y, coalesce(p.runs, 0) + x.r, coalesce(p.succeeded, 0) + x.s,
              coalesce(p.errors, 0) + x.e, coalesce(p.input_tokens, 0) + x.i,
              coalesce(p.output_tokens, 0) + x.o, coalesce(p.credits_micros, 0) + x.c,
              coalesce(p.latency_sum_ms, 0) + x.ls, coalesce(p.latency_count, 0) + x.lc,
              analytics_hist_add(coalesce(p.latency_hist, ''::bytea), decode(x.h, 'hex'))
       FROM ${RUNNING_ROWS}
       LEFT JOIN LATERAL (
         SELECT * FROM usage_running c
         WHERE c.tenant_id = x.t AND c.dim = x.d AND c.key = x.k AND c.day < x.y
         ORDER BY c.day DESC LIMIT 1
       ) p ON true
       ON CONFLICT (tenant_id, dim, key, day) DO NOTHING`,
      bindings
    )
  }
}

/**
 * A tenant's running sums from its per-dimension daily rows and day totals (a rebuild), key
 * by key in keyset pages.
 */
async function fillRunning(trx: TransactionClientContract, tenantId: string) {
  const measures = MEASURES.replace('credits_micros', 'credits_micros::text')
  const columns = `day, to_char(day, 'YYYY-MM-DD') AS on_day, ${measures}`
  for (const dim of ['agent', 'member', 'model', 'total']) {
    const source =
      dim === 'total'
        ? `SELECT '' AS key, ${columns} FROM usage_days WHERE tenant_id = ?`
        : `SELECT coalesce(key, '') AS key, ${columns} FROM usage_dims_daily
           WHERE tenant_id = ? AND dim = '${dim}'`
    let after = ['', '0001-01-01']
    let sum = emptyRow('', tenantId, [dim, null])
    let dense = new Float64Array(HIST_THRESHOLDS.length + 1)
    for (;;) {
      const { rows } = await trx.rawQuery(
        `SELECT * FROM (${source}) s WHERE (key, day) > (?, ?::date) ORDER BY key, day LIMIT 2000`,
        [tenantId, ...after]
      )
      if (!rows.length) break
      const out: RollupRow[] = []
      for (const row of rows) {
        if (sum.keys[1] !== row.key) {
          sum = emptyRow(row.on_day, tenantId, [dim, row.key])
          dense = new Float64Array(HIST_THRESHOLDS.length + 1)
        }
        sum.runs += row.runs
        sum.succeeded += row.succeeded
        sum.errors += row.errors
        sum.inputTokens += Number(row.input_tokens)
        sum.outputTokens += Number(row.output_tokens)
        sum.credits += BigInt(row.credits_micros)
        sum.latencySum += Number(row.latency_sum_ms)
        sum.latencyCount += row.latency_count
        addPackedHistogram(row.latency_hist, [dense])
        out.push({ ...sum, bucket: row.on_day, hist: sparseHistogram(dense) })
      }
      await trx.rawQuery(
        `INSERT INTO usage_running (tenant_id, dim, key, day, ${MEASURES})
         SELECT x.t, x.d, x.k, x.y, x.r, x.s, x.e, x.i, x.o, x.c, x.ls, x.lc, decode(x.h, 'hex')
         FROM ${RUNNING_ROWS}`,
        runningBindings(out)
      )
      after = [sum.keys[1]!, out[out.length - 1].bucket]
    }
  }
}

/**
 * Adds a batch of finished runs' facts (as RunFinished carries them) to the hourly and daily
 * rollups (failed ones to the failures per error type too) in one transaction, each run once:
 * run ids are claimed in projected_runs first, so a replayed fact — in this batch, an earlier
 * one or a concurrent one — changes nothing. The bucket is the run's created_at (a late fact
 * lands where the run belongs); the day is the tenant's local day of that hour. Facts of a
 * tenant that no longer exists are dropped. `freshZones` re-reads time zones instead of
 * trusting the cache (a retry). Returns how many runs counted.
 */
export async function projectFacts(
  batch: RunFacts[],
  options: { freshZones?: boolean } = {}
): Promise<number> {
  const byRun = new Map<string, RunFacts>()
  for (const fact of batch) {
    const runId = fact.runId.toLowerCase()
    if (TERMINAL_STATUSES.has(fact.status) && !byRun.has(runId)) byRun.set(runId, fact)
  }
  const tenantIds = [...new Set([...byRun.values()].map((fact) => fact.tenantId))].sort()
  const zones = new Map<string, string>()
  for (const tenantId of tenantIds) {
    const zone = await tenantTimeZone(tenantId, { fresh: options.freshZones })
    if (zone) zones.set(tenantId, zone)
  }
  // Run-id order: concurrent batches claiming the same runs wait on each other, never deadlock.
  const facts = [...byRun].filter(([, fact]) => zones.has(fact.tenantId)).sort(byKey)
  if (!facts.length) return 0

  return db.transaction(async (trx) => {
    // Exclusive: a batch reads and extends each key's running sums (usage_running), which a
    // concurrent batch of the tenant must not do at the same time. Sorted: no deadlocks.
    await trx.rawQuery(
      `SELECT pg_advisory_xact_lock(hashtext('analytics:' || t)) FROM unnest(?::text[]) AS t`,
      [[...zones.keys()]]
    )
    const claimed = await trx.rawQuery(
      `INSERT INTO projected_runs (run_id, tenant_id) SELECT * FROM unnest(?::uuid[], ?::uuid[])
       ON CONFLICT DO NOTHING RETURNING run_id`,
      [facts.map(([runId]) => runId), facts.map(([, fact]) => fact.tenantId)]
    )
    const counted = new Set<string>(claimed.rows.map((row: { run_id: string }) => row.run_id))
    if (!counted.size) return 0

    const rollups = Object.fromEntries(
      Object.keys(TABLES).map((table) => [table, new Map<string, RollupRow>()])
    ) as Record<Table, Map<string, RollupRow>>
    const errorsHourly = new Map<string, ErrorRow>()
    const errorsDaily = new Map<string, ErrorRow>()
    const days = new Map<string, string>()
    const tenants = new Set<string>()
    for (const [runId, fact] of facts) {
      if (!counted.has(runId)) continue
      const hour = Math.floor(new Date(fact.createdAt).getTime() / HOUR_MS) * HOUR_MS
      const dayKey = `${fact.tenantId}:${hour}`
      let day = days.get(dayKey)
      if (!day) days.set(dayKey, (day = localDay(new Date(hour), zones.get(fact.tenantId)!)))
      const latencyBucket = bucketOf(fact.latencyMs)
      const combination = [fact.agentId, fact.memberId, fact.model]
      addFact(rollups.usage_hourly, new Date(hour).toISOString(), combination, fact, latencyBucket)
      addFact(rollups.usage_daily, day, combination, fact, latencyBucket)
      addFact(rollups.usage_days, day, [], fact, latencyBucket)
      for (const [dim, field] of BREAKDOWNS) {
        const keys = [dim, fact[field]]
        addFact(rollups.usage_dims_daily, day, keys, fact, latencyBucket)
        addFact(rollups.usage_dims_weekly, mondayOf(day), keys, fact, latencyBucket)
        addFact(rollups.usage_dims_monthly, `${day.slice(0, 8)}01`, keys, fact, latencyBucket)
      }
      if (fact.status === 'failed') {
        addError(errorsHourly, new Date(hour).toISOString(), fact)
        addError(errorsDaily, day, fact)
      }
      tenants.add(fact.tenantId)
    }
    for (const table of Object.keys(TABLES) as Table[])
      await upsertRollups(trx, table, rollups[table])
    await addToRunning(trx, [...rollups.usage_dims_daily.values(), ...rollups.usage_days.values()])
    await upsertErrors(trx, 'usage_errors_hourly', errorsHourly)
    await upsertErrors(trx, 'usage_errors_daily', errorsDaily)
    const touched = [...rollups.usage_days.values()]
    await countActiveMembers(
      trx,
      touched.map((row) => row.tenantId),
      touched.map((row) => row.bucket)
    )
    await bumpVersions(trx, [...tenants].sort())
    return counted.size
  })
}

/**
 * Rebuilds a tenant's rollups from its finished runs' facts (the agents' door gives them as a
 * SQL source), deterministically: the same runs always give the same rows. Hourly (usage and
 * failures per error type) from the facts; daily by the local date of each hour in the
 * tenant's time zone; per-dimension rows and day totals from the daily rows.
 */
export async function rebuildTenant(tenantId: string) {
  // Read before the transaction opens (the embedded database serves one connection at a time).
  const timeZone = (await tenantTimeZone(tenantId, { fresh: true })) ?? 'UTC'
  return db.transaction(async (trx) => {
    await tenantLock(trx, tenantId, true)
    // Big tenants aggregate millions of runs: let the sorts and hashes stay in memory.
    await trx.rawQuery(`SELECT set_config('work_mem', '256MB', true)`)
    for (const table of [...Object.keys(TABLES), ...Object.keys(ERROR_TABLES), 'projected_runs']) {
      await trx.from(table).where('tenant_id', tenantId).delete()
    }
    // One statement, so the runs claimed and the runs counted are the same snapshot. Grouped by
    // bucket first, then by key: one pass builds both the sums and the histogram.
    const facts = finishedRunFactsSource(tenantId)
    await trx.rawQuery(
      `WITH facts AS MATERIALIZED (${facts.sql}),
       claimed AS (
         INSERT INTO projected_runs (run_id, tenant_id) SELECT run_id, tenant_id FROM facts
       ),
       failures AS (
         INSERT INTO usage_errors_hourly (hour, tenant_id, error_type, runs)
         SELECT date_trunc('hour', r.created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
                r.tenant_id, r.error_type, count(*)
         FROM facts r WHERE r.status = 'failed'
         GROUP BY 1, 2, 3
       )
       INSERT INTO usage_hourly (hour, tenant_id, ${DIMS}, ${MEASURES})
       SELECT hour, tenant_id, agent_id, member_id, model,
              sum(runs), sum(succeeded), sum(errors), sum(input_tokens), sum(output_tokens),
              sum(credits), sum(latency_sum), sum(latency_count), ${PACK}
       FROM (
         SELECT date_trunc('hour', r.created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour,
                r.tenant_id, r.agent_id, r.member_id, r.model,
                width_bucket(r.latency_ms, ?::int[]) AS bucket, count(*) AS runs,
                count(*) FILTER (WHERE r.status = 'succeeded') AS succeeded,
                count(*) FILTER (WHERE r.status = 'failed') AS errors,
                sum(r.input_tokens) AS input_tokens, sum(r.output_tokens) AS output_tokens,
                sum(r.cost_micros) AS credits, coalesce(sum(r.latency_ms), 0) AS latency_sum,
                count(r.latency_ms) AS latency_count, count(r.latency_ms) AS n
         FROM facts r
         GROUP BY 1, 2, 3, 4, 5, 6
       ) g
       GROUP BY 1, 2, 3, 4, 5`,
      [...facts.bindings, HIST_THRESHOLDS]
    )
    await rollLocal(trx, tenantId, timeZone)
    await bumpVersions(trx, [tenantId])
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

/**
 * A tenant's local rollups (daily, per dimension by day, week and month, day totals, failures
 * per error type and day) from its hourly rows, replacing them: each hour counts on its local
 * date in `timeZone`.
 */
async function rollLocal(trx: TransactionClientContract, tenantId: string, timeZone: string) {
  for (const table of [...Object.keys(TABLES), 'usage_errors_daily', 'usage_running'])
    if (table !== 'usage_hourly') await trx.from(table).where('tenant_id', tenantId).delete()
  await trx.rawQuery(
    `INSERT INTO usage_errors_daily (day, tenant_id, error_type, runs)
     SELECT (hour AT TIME ZONE ?)::date, tenant_id, error_type, sum(runs)
     FROM usage_errors_hourly WHERE tenant_id = ?
     GROUP BY 1, 2, 3`,
    [timeZone, tenantId]
  )
  await trx.rawQuery(
    `INSERT INTO usage_daily (day, tenant_id, ${DIMS}, ${MEASURES})
     ${rollUp('(SELECT * FROM usage_hourly WHERE tenant_id = ?)', [
       '(s.hour AT TIME ZONE ?)::date',
       's.tenant_id',
       ...DIMS_OF_S,
     ])}`,
    [timeZone, tenantId]
  )
  const daily = '(SELECT * FROM usage_daily WHERE tenant_id = ?)'
  // Each daily row counts once per dimension, under its key there.
  const perDimension = `(SELECT u.*, d.dim, d.key FROM usage_daily u CROSS JOIN LATERAL (VALUES
      ('agent', u.agent_id::text), ('member', u.member_id::text), ('model', u.model)
    ) AS d (dim, key) WHERE u.tenant_id = ?)`
  for (const table of ['usage_dims_daily', 'usage_dims_weekly', 'usage_dims_monthly'] as const) {
    const { bucket } = TABLES[table]
    const period = bucket === 'day' ? 's.day' : `date_trunc('${bucket}', s.day)::date`
    await trx.rawQuery(
      `INSERT INTO ${table} (${bucket}, tenant_id, dim, key, ${MEASURES})
       ${rollUp(perDimension, [period, 's.tenant_id', 's.dim', 's.key'])}`,
      [tenantId]
    )
  }
  await trx.rawQuery(
    `INSERT INTO usage_days (day, tenant_id, ${MEASURES}) ${rollUp(daily, ['s.day', 's.tenant_id'])}`,
    [tenantId]
  )
  await trx.rawQuery(
    `UPDATE usage_days d SET active_members = m.n
     FROM (SELECT day, count(DISTINCT member_id) FILTER (WHERE runs > 0) AS n
           FROM usage_daily WHERE tenant_id = ? GROUP BY day) m
     WHERE d.tenant_id = ? AND d.day = m.day`,
    [tenantId, tenantId]
  )
  await fillRunning(trx, tenantId)
}
