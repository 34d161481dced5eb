import { createHash } from 'node:crypto'
import { DateTime } from 'luxon'
import { Agent, errorTypeLabel } from '#agents'
import { User } from '#auth'
import {
  aggregate,
  emptyFigures,
  type Aggregate,
  type Dimension,
  type Figures,
} from '#analytics/services/rollups'
import type { Range } from '#analytics/services/ranges'
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

type Label = { label: string; slug: string | null }

const NO_KEY: Record<Exclude<Dimension, 'bucket'>, Label> = {
  agent: { label: 'Direct model calls', slug: null },
  member: { label: 'No member', slug: null },
  model: { label: 'No model', slug: null },
}

/** Agents by name (slug kept for links), members by name or email; models are their own name. */
async function lookUpLabels(
  tenantId: string,
  dimension: Exclude<Dimension, 'bucket'>,
  ids: string[]
): Promise<[string, Label][]> {
  // Plain rows, not models: a breakdown needs two or three columns of each.
  if (dimension === 'agent')
    return (
      await Agent.query()
        .select('id', 'name', 'slug', 'deleted_at')
        .where('tenantId', tenantId)
        .whereIn('id', ids)
        .pojo<{ id: string; name: string; slug: string; deleted_at: Date | null }>()
    ).map((agent) => [
      agent.id,
      { label: agent.deleted_at ? `${agent.name} (deleted)` : agent.name, slug: agent.slug },
    ])
  if (dimension === 'member')
    return (
      await User.query()
        .select('id', 'name', 'email')
        .whereIn('id', ids)
        .pojo<{ id: string; name: string | null; email: string }>()
    ).map((user) => [user.id, { label: user.name || user.email, slug: null }])
  return []
}

/**
 * Names for the ids in a breakdown. With the rollup version, they are cached per version and
 * set of ids, like the reports they go into: ranges of one version share them.
 */
async function labels(
  tenantId: string,
  dimension: Exclude<Dimension, 'bucket'>,
  keys: (string | null)[],
  version?: string
) {
  const ids = keys.filter((key): key is string => key !== null).sort()
  const lookUp = () => lookUpLabels(tenantId, dimension, ids)
  const found =
    dimension === 'model' || !ids.length
      ? []
      : version
        ? await cachedDto(
            tenantId,
            `labels:${dimension}`,
            { ids: createHash('sha256').update(ids.join()).digest('base64url') },
            lookUp,
            version,
            { counted: false }
          )
        : await lookUp()
  const names = new Map<string | null, Label>(found)
  names.set(null, NO_KEY[dimension])
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
  groups: Map<string | null, Figures>,
  version?: string
) {
  const name = await labels(tenantId, dimension, [...groups.keys()], version)
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

/** Failed runs by error type, labelled, most first (ties by label). */
function errorTypeRows(counts: Aggregate['errorTypes']): ErrorTypeRow[] {
  return counts
    .filter((count) => count.runs > 0)
    .map((count) => ({ ...count, label: errorTypeLabel(count.errorType) }))
    .sort((a, b) => b.runs - a.runs || a.label.localeCompare(b.label))
}

/** The whole dashboard for a range (and the previous period's totals), cached per rollup version. */
export function dashboardReport(tenantId: string, range: Range, version?: string): Promise<Report> {
  return cachedDto(
    tenantId,
    'dashboard',
    { from: range.start.toISO(), to: range.end.toISO(), g: range.granularity },
    async () => {
      // The range, its previous period's totals and its error types: one statement.
      const current = await aggregate(tenantId, range, undefined, {
        previous: true,
        errorTypes: true,
      })
      return {
        range: rangeDto(range),
        total: row('total', 'Total', current.total),
        previous: row('previous', 'Previous period', current.previous!),
        series: series(range, current.groups.bucket),
        agent: await breakdown(tenantId, 'agent', current.groups.agent, version),
        member: await breakdown(tenantId, 'member', current.groups.member, version),
        model: await breakdown(tenantId, 'model', current.groups.model, version),
        errorTypes: errorTypeRows(current.errorTypes),
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
