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
  /** The previous period's totals, when asked. */
  previous: Figures | null
  /** Failed runs per error type, when asked (unordered). */
  errorTypes: { errorType: string; runs: number }[]
}

/**
 * The columns of a range's one statement: each part (day totals, hourly rows, running sums,
 * active members, error types) fills its own and leaves the others NULL, so all of a range's
 * reads are one round trip (each one cost the web process ~0.4 ms, most of it in writev).
 */
const COLUMNS = {
  bk: 'text',
  dim: 'text',
  key: 'text',
  point: 'int',
  agent_id: 'uuid',
  member_id: 'uuid',
  model: 'text',
  active_members: 'int',
  error_type: 'text',
  runs: 'int',
  succeeded: 'int',
  errors: 'int',
  input_tokens: 'bigint',
  output_tokens: 'bigint',
  credits: 'text',
  latency_sum_ms: 'bigint',
  latency_count: 'int',
  latency_hist: 'bytea',
} as const
type Column = keyof typeof COLUMNS

/** The measures of a rollup table (aliased `alias`), as they are named in the statement. */
const measures = (alias: string): Partial<Record<Column, string>> => ({
  runs: `${alias}.runs`,
  succeeded: `${alias}.succeeded`,
  errors: `${alias}.errors`,
  input_tokens: `${alias}.input_tokens`,
  output_tokens: `${alias}.output_tokens`,
  credits: `${alias}.credits_micros::text`,
  latency_sum_ms: `${alias}.latency_sum_ms`,
  latency_count: `${alias}.latency_count`,
  latency_hist: `${alias}.latency_hist`,
})

type Part = { sql: string; bindings: unknown[] }
type PartName = 'day' | 'hour' | 'previousHour' | 'running' | 'members' | 'error'

/** One part of the statement: `SELECT <part>, <every column>` then the rest of its query. */
function part(
  name: PartName,
  columns: Partial<Record<Column, string>>,
  rest: string,
  bindings: unknown[]
): Part {
  const list = (Object.keys(COLUMNS) as Column[])
    .map((column) => `${columns[column] ?? `NULL::${COLUMNS[column]}`} AS ${column}`)
    .join(', ')
  return { sql: `SELECT '${name}' AS part, ${list} ${rest}`, bindings }
}

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
function sources(tenantId: string, range: Range, name: 'hour' | 'previousHour' = 'hour'): Part {
  if (range.granularity === 'hour')
    return part(
      name,
      {
        bk: `to_char(h.hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`,
        agent_id: 'h.agent_id',
        member_id: 'h.member_id',
        model: 'h.model',
        ...measures('h'),
      },
      'FROM usage_hourly h WHERE h.tenant_id = ? AND h.hour >= ? AND h.hour < ?',
      [tenantId, range.start.toJSDate(), range.end.toJSDate()]
    )
  return part(
    'day',
    { bk: `to_char(d.day, 'YYYY-MM-DD')`, active_members: 'd.active_members', ...measures('d') },
    'FROM usage_days d WHERE d.tenant_id = ? AND d.day >= ?::date AND d.day <= ?::date',
    [tenantId, range.fromDay, range.toDay]
  )
}

/**
 * A range's failed runs per error type. Hour ranges read the hourly rows (exactly the 24
 * hours); day ranges the tenant-local daily rows.
 */
function errorTypeCounts(tenantId: string, range: Range): Part {
  const [table, bucket, bindings] =
    range.granularity === 'hour'
      ? [
          'usage_errors_hourly',
          'hour >= ? AND hour < ?',
          [range.start.toJSDate(), range.end.toJSDate()],
        ]
      : ['usage_errors_daily', 'day >= ?::date AND day <= ?::date', [range.fromDay, range.toDay]]
  return part(
    'error',
    { error_type: 'error_type', runs: 'sum(runs)::int' },
    `FROM ${table} WHERE tenant_id = ? AND ${bucket} GROUP BY error_type`,
    [tenantId, ...bindings]
  )
}

/** Distinct members with runs over whole local days (when no breakdown rows are read). */
function activeMembers(tenantId: string, range: Range): Part {
  return part(
    'members',
    { active_members: 'count(DISTINCT member_id)::int' },
    'FROM usage_daily WHERE tenant_id = ? AND day >= ?::date AND day <= ?::date',
    [tenantId, range.fromDay, range.toDay]
  )
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
  const rest = `FROM (
      SELECT DISTINCT dim, coalesce(key, '') AS key FROM usage_dims_monthly
      WHERE tenant_id = ? AND dim = ANY(?) AND month >= date_trunc('month', ?::date)::date
        AND month <= ?::date
      UNION ALL SELECT 'total', '' WHERE 'total' = ANY(?)
    ) k
    JOIN (SELECT * FROM unnest(?::int[], ?::date[], ?::text[]) AS p (point, at, dims)) p
      ON k.dim = ANY(string_to_array(p.dims, ','))
    CROSS JOIN LATERAL (
      SELECT * FROM usage_running c
      WHERE c.tenant_id = ? AND c.dim = k.dim AND c.key = k.key AND c.day <= p.at
      ORDER BY c.day DESC LIMIT 1
    ) c`
  return part(
    'running',
    {
      dim: 'k.dim',
      key: 'k.key',
      point: 'p.point',
      ...measures('c'),
      // The previous period needs only the members' run counts.
      latency_hist: `CASE WHEN p.point = 2 AND k.dim = 'member' THEN ''::bytea ELSE c.latency_hist END`,
    },
    rest,
    [
      tenantId,
      dims,
      previousFrom ?? range.fromDay,
      range.toDay,
      dims,
      points.map(([point]) => point),
      points.map(([, at]) => at),
      points.map(([, , d]) => d.join(',')),
      tenantId,
    ]
  )
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

/**
 * Totals of a tenant's rollups over a range, and the same figures grouped by each of the
 * requested dimensions, with percentiles from the merged histograms. The rows (see `sources`
 * and `runningPoints`, read in one statement) are added up here, histograms in dense arrays.
 * `previous` also gives the previous period's totals (day ranges: from the same running sums;
 * hour ranges: its hourly rows); `errorTypes` the range's failed runs per error type.
 */
export async function aggregate(
  tenantId: string,
  range: Range,
  dimensions: readonly Dimension[] = DIMENSIONS,
  options: { previous?: boolean; errorTypes?: boolean } = {}
): Promise<Aggregate> {
  const breakdowns = dimensions.filter((d) => d !== 'bucket')
  const byDay = range.granularity === 'day'
  const previousFrom = byDay && options.previous ? previousRange(range).fromDay : null
  const parts = [sources(tenantId, range)]
  if (byDay && (breakdowns.length || previousFrom))
    parts.push(runningPoints(tenantId, range, breakdowns, previousFrom))
  // Day ranges count distinct members from the member rows when they are read.
  if (byDay && !breakdowns.includes('member')) parts.push(activeMembers(tenantId, range))
  // Hour ranges: the previous period's hourly rows, added up into its totals.
  if (!byDay && options.previous)
    parts.push(sources(tenantId, previousRange(range), 'previousHour'))
  if (options.errorTypes) parts.push(errorTypeCounts(tenantId, range))
  const { rows } = await db.rawQuery(
    parts.map((p) => `(${p.sql})`).join(' UNION ALL '),
    parts.flatMap((p) => p.bindings)
  )
  const of: Record<PartName, Row[]> = {
    day: [],
    hour: [],
    previousHour: [],
    running: [],
    members: [],
    error: [],
  }
  for (const row of rows as Row[]) of[row.part as PartName].push(row)
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
  for (const row of of.day) {
    add([total], row)
    if (bucketed) days.set(row.bk, dayFigures(row, scratch))
  }
  // Hourly rows carry the totals and buckets too.
  for (const row of of.hour) {
    const targets = breakdowns.map((dimension) => groupOf(dimension, row[KEY[dimension]]))
    targets.push(total, ...(bucketed ? [groupOf('bucket', row.bk)] : []))
    add(targets, row)
  }
  const points = new Map<string, Row[]>()
  for (const row of of.running) {
    const id = `${row.dim}:${row.key}`
    const list = points.get(id) ?? []
    list[row.point] = row
    points.set(id, list)
  }
  const previous = options.previous ? sums() : null
  for (const row of of.previousHour) add([previous!], row)
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
    // A day range's previous active members come from the running sums, an hour range's from
    // its rows.
    previous: previous && {
      ...figuresOf(previous),
      ...(byDay && { activeMembers: previousMembers }),
    },
    errorTypes: of.error.map((row) => ({ errorType: row.error_type, runs: row.runs })),
  }
  if (of.members.length) result.total.activeMembers = of.members[0].active_members
  for (const dimension of dimensions)
    for (const [key, sum] of groups[dimension]) result.groups[dimension].set(key, figuresOf(sum))
  if (byDay && bucketed) result.groups.bucket = days
  return result
}

/** The merged latency histogram of a range (tests compare it with percentile_cont). */
export async function rangeHistogram(tenantId: string, range: Range): Promise<Histogram> {
  const source = sources(tenantId, range)
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
