import db from '@adonisjs/lucid/services/db'
import {
  addHistogramText,
  HIST_THRESHOLDS,
  mergeHistograms,
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
  activeMembers: number
  p50: number | null
  p95: number | null
  p99: number | null
}

export type Aggregate = { total: Figures; groups: Record<Dimension, Map<string | null, Figures>> }

function source(range: Range) {
  return range.granularity === 'hour'
    ? {
        sql: `SELECT to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS bk, *
              FROM usage_hourly WHERE tenant_id = ? AND hour >= ? AND hour < ?`,
        bindings: [range.start.toJSDate(), range.end.toJSDate()],
      }
    : {
        sql: `SELECT to_char(day, 'YYYY-MM-DD') AS bk, *
              FROM usage_daily WHERE tenant_id = ? AND day >= ?::date AND day <= ?::date`,
        bindings: [range.fromDay, range.toDay],
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

function figuresOf(sum: Sums): Figures {
  const histogram: Histogram = {}
  sum.hist.forEach((count, bucket) => {
    if (count) histogram[bucket] = count
  })
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

/**
 * Totals of a tenant's rollups over a range, and the same figures grouped by each of the
 * requested dimensions, with percentiles from the merged histograms. One query reads the
 * rollup rows (hourly for hour ranges, daily otherwise); they are added up here, histograms
 * in dense arrays: merging thousands of sparse jsonb histograms in SQL is far slower.
 */
export async function aggregate(
  tenantId: string,
  range: Range,
  dimensions: readonly Dimension[] = DIMENSIONS
): Promise<Aggregate> {
  const { sql, bindings } = source(range)
  const rows = (
    await db.rawQuery(
      `SELECT bk, agent_id, member_id, model, runs, succeeded, errors, input_tokens, output_tokens,
              credits_micros::text AS credits,
              latency_sum_ms, latency_count, latency_hist::text AS hist FROM (${sql}) u`,
      [tenantId, ...bindings]
    )
  ).rows
  const total = sums()
  const groups = Object.fromEntries(
    dimensions.map((d) => [d, new Map<string | null, Sums>()])
  ) as Record<Dimension, Map<string | null, Sums>>
  for (const row of rows) {
    const targets = [total]
    for (const dimension of dimensions) {
      const key = row[KEY[dimension]] as string | null
      let sum = groups[dimension].get(key)
      if (!sum) groups[dimension].set(key, (sum = sums()))
      targets.push(sum)
    }
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
    addHistogramText(
      row.hist,
      targets.map((sum) => sum.hist)
    )
  }
  const result: Aggregate = {
    total: figuresOf(total),
    groups: { bucket: new Map(), agent: new Map(), member: new Map(), model: new Map() },
  }
  for (const dimension of dimensions) {
    for (const [key, sum] of groups[dimension]) result.groups[dimension].set(key, figuresOf(sum))
  }
  return result
}

/** The merged latency histogram of a range (tests compare it with percentile_cont). */
export async function rangeHistogram(tenantId: string, range: Range): Promise<Histogram> {
  const { sql, bindings } = source(range)
  const rows = (await db.rawQuery(`SELECT latency_hist FROM (${sql}) u`, [tenantId, ...bindings]))
    .rows
  return mergeHistograms(...rows.map((row: any) => row.latency_hist as Histogram))
}

/** Credits spent per local day over the last `days` days (for the burn rate), in micro-credits. */
export async function dailyCredits(
  tenantId: string,
  fromDay: string,
  toDay: string
): Promise<Map<string, bigint>> {
  const rows = (
    await db.rawQuery(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, sum(credits_micros)::text AS credits FROM usage_daily
       WHERE tenant_id = ? AND day >= ?::date AND day <= ?::date GROUP BY day`,
      [tenantId, fromDay, toDay]
    )
  ).rows
  return new Map(rows.map((row: any) => [row.day, BigInt(row.credits)]))
}
