import db from '@adonisjs/lucid/services/db'
import {
  addPackedHistogram,
  HIST_THRESHOLDS,
  percentiles,
  sparseHistogram,
  type Histogram,
} from '#analytics/histogram'
import { previousRange, type Range } from '#analytics/services/ranges'

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

export type Aggregate = {
  total: Figures
  groups: Record<Dimension, Map<string | null, Figures>>
  /** The previous period's totals, when asked of a day range. */
  previous: Figures | null
}

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
 * the series; breakdowns (and the previous period) come from `runningPoints`.
 */
function sources(tenantId: string, range: Range) {
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
  return { totals, rows: null }
}

const dayBefore = (day: string) => dayText(dayNumber(day) - 1)

/**
 * The running sums (usage_running) a day range's breakdowns and previous period need, in one
 * statement: for each key, its last row on or before a point — point 0 the range's last day,
 * 1 the day before it starts, 2 the day before the previous period starts. A key's figures over
 * the range are point 0 − point 1; the previous period's totals and active members are
 * point 1 − point 2 of 'total' and of each member. The keys are those with monthly rows in the
 * months the two periods touch (a key without runs there adds nothing).
 */
function runningPoints(
  tenantId: string,
  range: Range,
  breakdowns: Dimension[],
  previousFrom: string | null
) {
  const points: [number, string, string[]][] = [
    [0, range.toDay, breakdowns],
    [1, dayBefore(range.fromDay), [...breakdowns, ...(previousFrom ? ['member', 'total'] : [])]],
  ]
  if (previousFrom) points.push([2, dayBefore(previousFrom), ['member', 'total']])
  const dims = [...new Set(points.flatMap(([, , d]) => d))]
  return {
    sql: `WITH k AS (
            SELECT DISTINCT dim, coalesce(key, '') AS key FROM usage_dims_monthly
            WHERE tenant_id = ? AND dim = ANY(?) AND month >= date_trunc('month', ?::date)::date
              AND month <= ?::date
            UNION ALL SELECT 'total', '' WHERE 'total' = ANY(?)
          )
          SELECT k.dim, k.key, p.point, c.runs, c.succeeded, c.errors, c.input_tokens,
                 c.output_tokens, c.credits_micros::text AS credits, c.latency_sum_ms,
                 c.latency_count,
                 -- The previous period needs only the members' run counts.
                 CASE WHEN p.point = 2 AND k.dim = 'member' THEN ''::bytea
                      ELSE c.latency_hist END AS latency_hist
          FROM k
          JOIN (SELECT * FROM unnest(?::int[], ?::date[], ?::text[]) AS p (point, at, dims)) p
            ON k.dim = ANY(string_to_array(p.dims, ','))
          CROSS JOIN LATERAL (
            SELECT * FROM usage_running c
            WHERE c.tenant_id = ? AND c.dim = k.dim AND c.key = k.key AND c.day <= p.at
            ORDER BY c.day DESC LIMIT 1
          ) c`,
    bindings: [
      tenantId,
      dims,
      previousFrom ?? range.fromDay,
      range.toDay,
      dims,
      points.map(([point]) => point),
      points.map(([, at]) => at),
      points.map(([, , d]) => d.join(',')),
      tenantId,
    ],
  }
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

const QUANTILES = [0.5, 0.95, 0.99]

function figuresOf(sum: Sums): Figures {
  const [p50, p95, p99] = percentiles(sum.hist, QUANTILES)
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
    p50,
    p95,
    p99,
  }
}

type Row = Record<string, any>

/** One day total's figures (a bucket of the series), its histogram read into `scratch`. */
function dayFigures(row: Row, scratch: Float64Array): Figures {
  addPackedHistogram(row.latency_hist, [scratch])
  const [p50, p95, p99] = percentiles(scratch, QUANTILES)
  scratch.fill(0)
  return {
    runs: row.runs,
    succeeded: row.succeeded,
    errors: row.errors,
    inputTokens: Number(row.input_tokens),
    outputTokens: Number(row.output_tokens),
    creditsMicros: row.credits,
    latencySumMs: Number(row.latency_sum_ms),
    latencyCount: row.latency_count,
    activeMembers: row.active_members,
    p50,
    p95,
    p99,
  }
}

/** Adds a row's sums into each target (sign −1 takes a running row away). */
function add(targets: Sums[], row: Row, sign: 1 | -1 = 1) {
  for (const sum of targets) {
    sum.runs += sign * row.runs
    sum.succeeded += sign * row.succeeded
    sum.errors += sign * row.errors
    sum.inputTokens += sign * Number(row.input_tokens)
    sum.outputTokens += sign * Number(row.output_tokens)
    sum.credits += BigInt(sign) * BigInt(row.credits)
    sum.latencySumMs += sign * Number(row.latency_sum_ms)
    sum.latencyCount += sign * row.latency_count
    if (row.member_id && row.runs > 0) sum.members.add(row.member_id)
  }
  addPackedHistogram(
    row.latency_hist,
    targets.map((sum) => sum.hist),
    sign
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
 * requested dimensions, with percentiles from the merged histograms. The rows (see `sources`
 * and `runningPoints`) are added up here, histograms in dense arrays. `previous` (day ranges)
 * also gives the previous period's totals, from the same running sums.
 */
export async function aggregate(
  tenantId: string,
  range: Range,
  dimensions: readonly Dimension[] = DIMENSIONS,
  options: { previous?: boolean } = {}
): Promise<Aggregate> {
  const breakdowns = dimensions.filter((d) => d !== 'bucket')
  const { totals, rows } = sources(tenantId, range)
  const previousFrom = totals && options.previous ? previousRange(range).fromDay : null
  const running =
    totals && (breakdowns.length || previousFrom)
      ? runningPoints(tenantId, range, breakdowns, previousFrom)
      : null
  const read = (source: { sql: string; bindings: unknown[] }) =>
    db.rawQuery(source.sql, source.bindings).then((r) => r.rows as Row[])
  const [totalRows, groupRows, runningRows, members] = await Promise.all([
    totals ? read(totals) : null,
    rows ? read(rows) : [],
    running ? read(running) : [],
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
  // A day range's buckets are its day totals, one row each.
  const days = new Map<string, Figures>()
  const scratch = new Float64Array(HIST_THRESHOLDS.length + 1)
  for (const row of totalRows ?? []) {
    add([total], row)
    if (bucketed) days.set(row.bk, dayFigures(row, scratch))
  }
  // Hourly rows carry the totals and buckets too.
  for (const row of groupRows) {
    const targets = breakdowns.map((dimension) => groupOf(dimension, row[KEY[dimension]]))
    targets.push(total, ...(bucketed ? [groupOf('bucket', row.bk)] : []))
    add(targets, row)
  }
  const points = new Map<string, Row[]>()
  for (const row of runningRows) {
    const id = `${row.dim}:${row.key}`
    const list = points.get(id) ?? []
    list[row.point] = row
    points.set(id, list)
  }
  const previous = previousFrom ? sums() : null
  let previousMembers = 0
  for (const [end, start, before] of points.values()) {
    const { dim, key } = (end ?? start ?? before)!
    const ranIn = (last?: Row, first?: Row) => (last?.runs ?? 0) - (first?.runs ?? 0) > 0
    if (dim === 'total') {
      if (start) add([previous!], start)
      if (before) add([previous!], before, -1)
      continue
    }
    if (dim === 'member' && key !== '' && previous && ranIn(start, before)) previousMembers++
    if (!breakdowns.includes(dim) || !ranIn(end, start)) continue
    const target = groupOf(dim, key === '' ? null : key)
    add([target], end)
    if (start) add([target], start, -1)
    if (dim === 'member' && key !== '') total.members.add(key)
  }
  const result: Aggregate = {
    total: figuresOf(total),
    groups: { bucket: new Map(), agent: new Map(), member: new Map(), model: new Map() },
    previous: previous && { ...figuresOf(previous), activeMembers: previousMembers },
  }
  if (members !== null) result.total.activeMembers = members
  for (const dimension of dimensions)
    for (const [key, sum] of groups[dimension]) result.groups[dimension].set(key, figuresOf(sum))
  if (totalRows && bucketed) result.groups.bucket = days
  return result
}

/** The merged latency histogram of a range (tests compare it with percentile_cont). */
export async function rangeHistogram(tenantId: string, range: Range): Promise<Histogram> {
  const { totals, rows } = sources(tenantId, range)
  const source = (totals ?? rows)!
  const merged = new Float64Array(HIST_THRESHOLDS.length + 1)
  for (const row of (await db.rawQuery(source.sql, source.bindings)).rows)
    addPackedHistogram(row.latency_hist, [merged])
  return sparseHistogram(merged)
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
