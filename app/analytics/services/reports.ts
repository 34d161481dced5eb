import { DateTime } from 'luxon'
import db from '@adonisjs/lucid/services/db'
import { Agent, errorTypeLabel } from '#agents'
import { User } from '#auth'
import { aggregate, emptyFigures, type Dimension, type Figures } from '#analytics/services/rollups'
import { previousRange, type Range } from '#analytics/services/ranges'
import { cachedDto } from '#analytics/services/cache'

/** One line of a report: a bucket, an agent, a member or a model (plain JSON, cacheable). */
export type UsageRow = Omit<Figures, 'latencySumMs' | 'latencyCount' | 'p50' | 'p95' | 'p99'> & {
  key: string | null
  label: string
  /** The agent's slug (for links to the runs list); null for other dimensions. */
  slug: string | null
  latencyP50: number | null
  latencyP95: number | null
}

/** Failed runs of one error type over a range (plain JSON, cacheable). */
export type ErrorTypeRow = { errorType: string; label: string; runs: number }

export type Report = {
  range: {
    preset: string
    fromDay: string
    toDay: string
    granularity: 'hour' | 'day'
    label: string
  }
  total: UsageRow
  previous: UsageRow | null
  series: UsageRow[]
  agent: UsageRow[]
  member: UsageRow[]
  model: UsageRow[]
  /** Failed runs by error type, most first. */
  errorTypes: ErrorTypeRow[]
}

function row(
  key: string | null,
  label: string,
  figures: Figures,
  slug: string | null = null
): UsageRow {
  const { latencySumMs: _sum, latencyCount: _count, p50, p95, p99: _p99, ...sums } = figures
  const round = (value: number | null) => (value === null ? null : Math.round(value))
  return { key, label, slug, ...sums, latencyP50: round(p50), latencyP95: round(p95) }
}

/** Names for the ids in a breakdown: agents by name (slug kept for links), members by name or email. */
async function labels(tenantId: string, dimension: Dimension, keys: (string | null)[]) {
  const ids = keys.filter((key): key is string => key !== null)
  const names = new Map<string | null, { label: string; slug: string | null }>()
  if (dimension === 'agent') {
    names.set(null, { label: 'Direct model calls', slug: null })
    // Plain rows, not models: a breakdown needs three columns of each.
    const agents = ids.length
      ? await Agent.query()
          .select('id', 'name', 'slug', 'deleted_at')
          .where('tenantId', tenantId)
          .whereIn('id', ids)
          .pojo<{ id: string; name: string; slug: string; deleted_at: Date | null }>()
      : []
    for (const agent of agents)
      names.set(agent.id, {
        label: agent.deleted_at ? `${agent.name} (deleted)` : agent.name,
        slug: agent.slug,
      })
  } else if (dimension === 'member') {
    names.set(null, { label: 'No member', slug: null })
    const users = ids.length
      ? await User.query()
          .select('id', 'name', 'email')
          .whereIn('id', ids)
          .pojo<{ id: string; name: string | null; email: string }>()
      : []
    for (const user of users) names.set(user.id, { label: user.name || user.email, slug: null })
  } else if (dimension === 'model') {
    names.set(null, { label: 'No model', slug: null })
  }
  return (key: string | null) => names.get(key) ?? { label: key ?? '—', slug: null }
}

const bucketLabels = new Map<string, string>()

/**
 * Bucket labels: "Mon 3 Mar" for days, "14:00" (tenant time) for hours. Remembered (a few
 * thousand at most in use; formatting dates was the uncached dashboard's costliest library call).
 */
function bucketLabel(range: Range, key: string) {
  const id = range.granularity === 'day' ? key : `${range.timeZone} ${key}`
  let label = bucketLabels.get(id)
  if (label === undefined) {
    label =
      range.granularity === 'day'
        ? DateTime.fromISO(key, { zone: 'UTC' }).toFormat('ccc d LLL')
        : DateTime.fromISO(key, { zone: 'UTC' }).setZone(range.timeZone).toFormat('HH:mm')
    if (bucketLabels.size >= 10_000) bucketLabels.clear()
    bucketLabels.set(id, label)
  }
  return label
}

/** A breakdown's rows, most runs first (ties by label), labelled. */
export async function breakdown(
  tenantId: string,
  dimension: Exclude<Dimension, 'bucket'>,
  groups: Map<string | null, Figures>
) {
  const name = await labels(tenantId, dimension, [...groups.keys()])
  return [...groups.entries()]
    .map(([key, figures]) => row(key, name(key).label, figures, name(key).slug))
    .sort((a, b) => b.runs - a.runs || a.label.localeCompare(b.label))
}

/** Every bucket of the range in order, empty ones included. */
export function series(range: Range, groups: Map<string | null, Figures>) {
  return range.buckets.map((key) =>
    row(key, bucketLabel(range, key), groups.get(key) ?? emptyFigures())
  )
}

function rangeDto(range: Range): Report['range'] {
  return {
    preset: range.preset,
    fromDay: range.fromDay,
    toDay: range.toDay,
    granularity: range.granularity,
    label: range.label,
  }
}

/**
 * A range's failed runs by error type, most first (ties by label). Hour ranges read the hourly
 * rows (exactly the 24 hours); day ranges the tenant-local daily rows.
 */
export async function errorTypeReport(tenantId: string, range: Range): Promise<ErrorTypeRow[]> {
  const { rows } =
    range.granularity === 'hour'
      ? await db.rawQuery(
          `SELECT error_type, sum(runs)::int AS runs FROM usage_errors_hourly
           WHERE tenant_id = ? AND hour >= ? AND hour < ? GROUP BY error_type`,
          [tenantId, range.start.toJSDate(), range.end.toJSDate()]
        )
      : await db.rawQuery(
          `SELECT error_type, sum(runs)::int AS runs FROM usage_errors_daily
           WHERE tenant_id = ? AND day >= ?::date AND day <= ?::date GROUP BY error_type`,
          [tenantId, range.fromDay, range.toDay]
        )
  return (rows as { error_type: string; runs: number }[])
    .filter((row) => row.runs > 0)
    .map((row) => ({
      errorType: row.error_type,
      label: errorTypeLabel(row.error_type),
      runs: row.runs,
    }))
    .sort((a, b) => b.runs - a.runs || a.label.localeCompare(b.label))
}

/** The whole dashboard for a range (and the previous period's totals), cached per rollup version. */
export function dashboardReport(tenantId: string, range: Range, version?: string): Promise<Report> {
  return cachedDto(
    tenantId,
    'dashboard',
    { from: range.start.toISO(), to: range.end.toISO(), g: range.granularity },
    async () => {
      // Day ranges read the previous period with the breakdowns (running sums); hours apart.
      const [current, before, errorTypes] = await Promise.all([
        aggregate(tenantId, range, undefined, { previous: true }),
        range.granularity === 'hour' ? aggregate(tenantId, previousRange(range), []) : null,
        errorTypeReport(tenantId, range),
      ])
      return {
        range: rangeDto(range),
        total: row('total', 'Total', current.total),
        previous: row('previous', 'Previous period', (before?.total ?? current.previous)!),
        series: series(range, current.groups.bucket),
        agent: await breakdown(tenantId, 'agent', current.groups.agent),
        member: await breakdown(tenantId, 'member', current.groups.member),
        model: await breakdown(tenantId, 'model', current.groups.model),
        errorTypes,
      }
    },
    version
  )
}

/** One grouping for the API (`group_by`): rows and totals. */
export function usageReport(
  tenantId: string,
  range: Range,
  groupBy: 'day' | 'agent' | 'member' | 'model'
) {
  const dimension: Dimension = groupBy === 'day' ? 'bucket' : groupBy
  return cachedDto(
    tenantId,
    'usage',
    { from: range.start.toISO(), to: range.end.toISO(), g: range.granularity, by: groupBy },
    async () => {
      const result = await aggregate(tenantId, range, [dimension])
      const rows =
        dimension === 'bucket'
          ? series(range, result.groups.bucket)
          : await breakdown(tenantId, dimension, result.groups[dimension])
      return { rows, total: row('total', 'Total', result.total) }
    }
  )
}
