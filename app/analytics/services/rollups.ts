import db from '@adonisjs/lucid/services/db'
import {
  addPackedHistogram,
  HIST_THRESHOLDS,
  percentile,
  type Histogram,
} from '#analytics/histogram'
import type { Range } from '#analytics/services/ranges'

export const DIMENSIONS = ['bucket', 'agent', 'member', 'model'] as const
export type Dimension = (typeof DIMENSIONS)[number]

/** Sums of rollup rows; credits in micro-credits (as a string: it is money, never a float). */
export type Figures = {
  runs: number
  succeeded: number
  errors: number
  inputTokens: number
  outputTokens: number
  creditsMicros: string
  latencySumMs: number
  latencyCount: number
  /** Distinct members with runs: of totals and buckets (breakdown rows of day ranges keep 0). */
  activeMembers: number
  p50: number | null
  p95: number | null
  p99: number | null
}

export type Aggregate = { total: Figures; groups: Record<Dimension, Map<string | null, Figures>> }

const MEASURES = `runs, succeeded, errors, input_tokens, output_tokens,
  credits_micros::text AS credits, latency_sum_ms, latency_count, latency_hist`

const DAY_MS = 86_400_000
const dayNumber = (day: string) => Date.parse(`${day}T00:00:00Z`) / DAY_MS
const dayText = (n: number) => new Date(n * DAY_MS).toISOString().slice(0, 10)

/**
 * [fromDay, toDay] (local dates, inclusive) as the fewest rollup rows per key: whole calendar
 * months, then whole ISO weeks (by their Monday) in what is left, then single days (as ranges).
 */
export function splitRange(fromDay: string, toDay: string) {
  const [from, to] = [dayNumber(fromDay), dayNumber(toDay)]
  const months: string[] = []
  let rest: [number, number][] = [[from, to]]
  const start = new Date(from * DAY_MS)
  let month = Date.UTC(
    start.getUTCFullYear(),
    start.getUTCMonth() + (start.getUTCDate() > 1 ? 1 : 0)
  )
  for (;;) {
    const next = new Date(month)
    const end = Date.UTC(next.getUTCFullYear(), next.getUTCMonth() + 1) / DAY_MS - 1
    if (end > to) break
    months.push(dayText(month / DAY_MS))
    month = (end + 1) * DAY_MS
  }
  if (months.length) {
    const [first, last] = [dayNumber(months[0]), month / DAY_MS - 1]
    rest = [
      [from, first - 1],
      [last + 1, to],
    ]
  }
  const weeks: string[] = []
  const days: [string, string][] = []
  for (const [a, b] of rest) {
    if (a > b) continue
    // 1970-01-01 was a Thursday: (n + 3) % 7 is 0 on Mondays.
    const monday = a + ((7 - ((a + 3) % 7)) % 7)
    let week = monday
    for (; week + 6 <= b; week += 7) weeks.push(dayText(week))
    if (week === monday) days.push([dayText(a), dayText(b)])
    else {
      if (monday > a) days.push([dayText(a), dayText(monday - 1)])
      if (week <= b) days.push([dayText(week), dayText(b)])
    }
  }
  return { months, weeks, days }
}

/**
 * The rows a range's figures come from. Hour ranges: the hourly rows per (agent, member, model)
 * (totals, buckets and breakdowns alike). Day ranges: the tenant's day totals for the KPIs and
 * the series, and — for the breakdowns asked — rows per dimension and key: monthly for the whole
 * months inside the range, weekly for the whole weeks around them and daily for the rest, so a
 * 90-day breakdown reads ~15 rows per agent, member or model, not 90.
 */
function sources(tenantId: string, range: Range, breakdowns: Dimension[]) {
  if (range.granularity === 'hour') {
    const hourly = {
      sql: `SELECT to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS bk,
                   agent_id, member_id, model, ${MEASURES}
            FROM usage_hourly WHERE tenant_id = ? AND hour >= ? AND hour < ?`,
      bindings: [tenantId, range.start.toJSDate(), range.end.toJSDate()],
    }
    return { totals: null, rows: hourly }
  }
  const totals = {
    sql: `SELECT to_char(day, 'YYYY-MM-DD') AS bk, active_members, ${MEASURES}
          FROM usage_days WHERE tenant_id = ? AND day >= ?::date AND day <= ?::date`,
    bindings: [tenantId, range.fromDay, range.toDay],
  }
  if (!breakdowns.length) return { totals, rows: null }
  const { months, weeks, days } = splitRange(range.fromDay, range.toDay)
  const columns = `dim, key, ${MEASURES}`
  const parts = days.map(
    () =>
      `SELECT ${columns} FROM usage_dims_daily
       WHERE tenant_id = ? AND dim = ANY(?) AND day >= ?::date AND day <= ?::date`
  )
  const bindings: unknown[] = days.flatMap(([from, to]) => [tenantId, breakdowns, from, to])
  for (const [table, period, keys] of [
    ['usage_dims_weekly', 'week', weeks],
    ['usage_dims_monthly', 'month', months],
  ] as const) {
    if (!keys.length) continue
    parts.push(
      `SELECT ${columns} FROM ${table} WHERE tenant_id = ? AND dim = ANY(?) AND ${period} = ANY(?::date[])`
    )
    bindings.push(tenantId, breakdowns, keys)
  }
  return { totals, rows: { sql: parts.join(' UNION ALL '), bindings } }
}

export function emptyFigures(): Figures {
  return {
    runs: 0,
    succeeded: 0,
    errors: 0,
    inputTokens: 0,
    outputTokens: 0,
    creditsMicros: '0',
    latencySumMs: 0,
    latencyCount: 0,
    activeMembers: 0,
    p50: null,
    p95: null,
    p99: null,
  }
}

type Sums = {
  runs: number
  succeeded: number
  errors: number
  inputTokens: number
  outputTokens: number
  credits: bigint
  latencySumMs: number
  latencyCount: number
  members: Set<string>
  hist: Float64Array
}

const KEY: Record<Dimension, 'bk' | 'agent_id' | 'member_id' | 'model'> = {
  bucket: 'bk',
  agent: 'agent_id',
  member: 'member_id',
  model: 'model',
}

function sums(): Sums {
  return {
    runs: 0,
    succeeded: 0,
    errors: 0,
    inputTokens: 0,
    outputTokens: 0,
    credits: 0n,
    latencySumMs: 0,
    latencyCount: 0,
    members: new Set(),
    hist: new Float64Array(HIST_THRESHOLDS.length + 1),
  }
}

function sparse(dense: Float64Array): Histogram {
  const histogram: Histogram = {}
  dense.forEach((count, bucket) => {
    if (count) histogram[bucket] = count
  })
  return histogram
}

function figuresOf(sum: Sums): Figures {
  const histogram = sum.hist
  return {
    runs: sum.runs,
    succeeded: sum.succeeded,
    errors: sum.errors,
    inputTokens: sum.inputTokens,
    outputTokens: sum.outputTokens,
    creditsMicros: sum.credits.toString(),
    latencySumMs: sum.latencySumMs,
    latencyCount: sum.latencyCount,
    activeMembers: sum.members.size,
    p50: percentile(histogram, 0.5),
    p95: percentile(histogram, 0.95),
    p99: percentile(histogram, 0.99),
  }
}

type Row = Record<string, any>

function add(targets: Sums[], row: Row) {
  for (const sum of targets) {
    sum.runs += row.runs
    sum.succeeded += row.succeeded
    sum.errors += row.errors
    sum.inputTokens += Number(row.input_tokens)
    sum.outputTokens += Number(row.output_tokens)
    sum.credits += BigInt(row.credits)
    sum.latencySumMs += Number(row.latency_sum_ms)
    sum.latencyCount += row.latency_count
    if (row.member_id && row.runs > 0) sum.members.add(row.member_id)
  }
  addPackedHistogram(
    row.latency_hist,
    targets.map((sum) => sum.hist)
  )
}

/** Distinct members with runs over whole local days (when no breakdown rows were read). */
async function activeMembers(tenantId: string, range: Range) {
  const { rows } = await db.rawQuery(
    `SELECT count(DISTINCT member_id)::int AS n FROM usage_daily
     WHERE tenant_id = ? AND day >= ?::date AND day <= ?::date`,
    [tenantId, range.fromDay, range.toDay]
  )
  return rows[0].n as number
}

/**
 * Totals of a tenant's rollups over a range, and the same figures grouped by each of the
 * requested dimensions, with percentiles from the merged histograms. The rows (see `sources`)
 * are added up here, histograms in dense arrays.
 */
export async function aggregate(
  tenantId: string,
  range: Range,
  dimensions: readonly Dimension[] = DIMENSIONS
): Promise<Aggregate> {
  const breakdowns = dimensions.filter((d) => d !== 'bucket')
  const { totals, rows } = sources(tenantId, range, breakdowns)
  const [totalRows, groupRows, members] = await Promise.all([
    totals ? db.rawQuery(totals.sql, totals.bindings).then((r) => r.rows as Row[]) : null,
    rows ? db.rawQuery(rows.sql, rows.bindings).then((r) => r.rows as Row[]) : [],
    // Day ranges count distinct members from the member rows when they are read.
    totals && !breakdowns.includes('member') ? activeMembers(tenantId, range) : null,
  ])
  const total = sums()
  const groups = Object.fromEntries(
    dimensions.map((d) => [d, new Map<string | null, Sums>()])
  ) as Record<Dimension, Map<string | null, Sums>>
  const groupOf = (dimension: Dimension, key: string | null) => {
    let sum = groups[dimension].get(key)
    if (!sum) groups[dimension].set(key, (sum = sums()))
    return sum
  }
  const bucketed = dimensions.includes('bucket')
  const activePerBucket = new Map<string, number>()
  for (const row of totalRows ?? []) {
    add(bucketed ? [total, groupOf('bucket', row.bk)] : [total], row)
    activePerBucket.set(row.bk, row.active_members)
  }
  for (const row of groupRows) {
    if (totalRows) {
      // A day range's row belongs to one dimension; totals came from the day totals.
      add([groupOf(row.dim, row.key)], row)
      if (row.dim === 'member' && row.key && row.runs > 0) total.members.add(row.key)
      continue
    }
    // Hourly rows carry the totals and buckets too.
    const targets = breakdowns.map((dimension) => groupOf(dimension, row[KEY[dimension]]))
    targets.push(total, ...(bucketed ? [groupOf('bucket', row.bk)] : []))
    add(targets, row)
  }
  const result: Aggregate = {
    total: figuresOf(total),
    groups: { bucket: new Map(), agent: new Map(), member: new Map(), model: new Map() },
  }
  if (members !== null) result.total.activeMembers = members
  for (const dimension of dimensions) {
    for (const [key, sum] of groups[dimension]) {
      const figures = figuresOf(sum)
      if (dimension === 'bucket' && totalRows)
        figures.activeMembers = activePerBucket.get(key!) ?? 0
      result.groups[dimension].set(key, figures)
    }
  }
  return result
}

/** The merged latency histogram of a range (tests compare it with percentile_cont). */
export async function rangeHistogram(tenantId: string, range: Range): Promise<Histogram> {
  const { totals, rows } = sources(tenantId, range, [])
  const source = (totals ?? rows)!
  const merged = new Float64Array(HIST_THRESHOLDS.length + 1)
  for (const row of (await db.rawQuery(source.sql, source.bindings)).rows)
    addPackedHistogram(row.latency_hist, [merged])
  return sparse(merged)
}

/** Credits spent per local day over the last `days` days (for the burn rate), in micro-credits. */
export async function dailyCredits(
  tenantId: string,
  fromDay: string,
  toDay: string
): Promise<Map<string, bigint>> {
  const rows = (
    await db.rawQuery(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, credits_micros::text AS credits FROM usage_days
       WHERE tenant_id = ? AND day >= ?::date AND day <= ?::date`,
      [tenantId, fromDay, toDay]
    )
  ).rows
  return new Map(rows.map((row: any) => [row.day, BigInt(row.credits)]))
}
