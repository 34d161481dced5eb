import { DateTime } from 'luxon'
import { escapeHtml, formatCredits, urlFor, type RouteName } from '#core'
import type { Balance } from '#credits'
import type { ErrorTypeRow, Report, UsageRow } from '#analytics/services/reports'
import { rangeQuery, type Range } from '#analytics/services/ranges'

const number = new Intl.NumberFormat('en-US')

/** "12.5 %" or "—". */
export function percent(part: number, whole: number) {
  return whole ? `${((part / whole) * 100).toFixed(1)} %` : '—'
}

function ms(value: number | null) {
  return value === null
    ? '—'
    : value >= 10_000
      ? `${(value / 1000).toFixed(1)} s`
      : `${number.format(value)} ms`
}

/** The change against the previous period: text and direction (for the arrow and screen readers). */
function change(
  now: number | null,
  before: number | null,
  unit: 'relative' | 'points' = 'relative'
) {
  if (now === null || before === null) return { text: 'no data before', direction: 'flat' as const }
  const delta =
    unit === 'points'
      ? now - before
      : before === 0
        ? now === 0
          ? 0
          : null
        : ((now - before) / before) * 100
  if (delta === null) return { text: 'new this period', direction: 'up' as const }
  const direction =
    Math.abs(delta) < 0.05 ? ('flat' as const) : delta > 0 ? ('up' as const) : ('down' as const)
  const sign = delta > 0 ? '+' : ''
  return {
    text: `${sign}${delta.toFixed(1)}${unit === 'points' ? ' pts' : ' %'} vs previous period`,
    direction,
  }
}

/** The overview's KPI cards. */
export function kpiCards(total: UsageRow, previous: UsageRow | null) {
  const before = previous ?? total
  const rate = (row: UsageRow) => (row.runs ? (row.succeeded / row.runs) * 100 : null)
  const tokens = (row: UsageRow) => row.inputTokens + row.outputTokens
  const credits = (row: UsageRow) => Number(BigInt(row.creditsMicros)) / 1e6
  return [
    {
      id: 'runs',
      label: 'Runs',
      value: number.format(total.runs),
      change: change(total.runs, before.runs),
    },
    {
      id: 'success',
      label: 'Success rate',
      value: percent(total.succeeded, total.runs),
      change: change(rate(total), rate(before), 'points'),
    },
    {
      id: 'tokens',
      label: 'Tokens',
      value: number.format(tokens(total)),
      detail: `${number.format(total.inputTokens)} in · ${number.format(total.outputTokens)} out`,
      change: change(tokens(total), tokens(before)),
    },
    {
      id: 'credits',
      label: 'Credits',
      value: formatCredits(total.creditsMicros),
      change: change(credits(total), credits(before)),
    },
    {
      id: 'p50',
      label: 'Latency p50',
      value: ms(total.latencyP50),
      change: change(total.latencyP50, before.latencyP50),
    },
    {
      id: 'p95',
      label: 'Latency p95',
      value: ms(total.latencyP95),
      change: change(total.latencyP95, before.latencyP95),
    },
    {
      id: 'members',
      label: 'Active members',
      value: number.format(total.activeMembers),
      change: change(total.activeMembers, before.activeMembers),
    },
  ]
}

/** The runs list's URL per workspace slug (bounded: cleared past 1,000 workspaces). */
const runsBase = new Map<string, string>()

/**
 * Links into the runs list (agents' page, by route name): agent slug, member, model, status,
 * error type, whole local days.
 */
export function runsUrl(
  tenantSlug: string,
  range: Pick<Range, 'fromDay' | 'toDay'>,
  filters: {
    agent?: string | null
    member?: string | null
    model?: string | null
    status?: string
    error?: string
    from?: string
    to?: string
    hour?: string
  } = {}
) {
  const qs: [string, string | null | undefined][] = [
    ['agent', filters.agent],
    ['member', filters.member],
    ['model', filters.model],
    ['status', filters.status],
    ['error', filters.error],
    ['from', filters.from ?? range.fromDay],
    ['to', filters.to ?? range.toDay],
    ['hour', filters.hour],
  ]
  // The route's URL once per workspace, the query string by hand: a dashboard has ~250 of
  // these links and the router's builder was a tenth of an uncached dashboard's time.
  let base = runsBase.get(tenantSlug)
  if (!base) {
    if (runsBase.size > 1000) runsBase.clear()
    runsBase.set(tenantSlug, (base = urlFor('agents.web.runs.index', { tenant: tenantSlug })))
  }
  const query = qs
    .filter(([, value]) => value)
    .map(([key, value]) => `${key}=${encodeURIComponent(value!)}`)
    .join('&')
  return query ? `${base}?${query}` : base
}

/** A dashboard URL (or one of its fragments or exports, by route name) for a range. */
export function dashboardUrl(
  tenantSlug: string,
  range: Range,
  route: RouteName = 'analytics.dashboard.show',
  extra: Record<string, string> = {}
) {
  return urlFor(route, { tenant: tenantSlug }, { qs: { ...rangeQuery(range), ...extra } })
}

/** The runs-list filter of one breakdown row (rows without a key, e.g. "No member", keep none). */
function slice(dimension: 'agent' | 'member' | 'model', row: UsageRow) {
  if (dimension === 'agent') return { agent: row.slug ?? row.key }
  return dimension === 'member' ? { member: row.key } : { model: row.key }
}

export const EXPANDABLE = ['agent', 'member', 'model'] as const
export type Expandable = (typeof EXPANDABLE)[number]

/** Rows a breakdown shows until its "Show all" is followed: a page stays light at 100+ members. */
export const BREAKDOWN_TOP = 10

const PLURAL: Record<Expandable, string> = { agent: 'agents', member: 'members', model: 'models' }

/**
 * A breakdown table as shown: its top rows (every row when `expanded` is its dimension), each
 * with formatted figures and drill-down links, and the link that shows all rows or the top ones
 * again (the same dashboard with or without `all`). `errorsOnly`: the rows with failed runs.
 */
export function breakdownTable(
  tenantSlug: string,
  range: Range,
  all: UsageRow[],
  dimension: Expandable,
  { expanded, errorsOnly }: { expanded: Expandable | null; errorsOnly: boolean }
) {
  const rows = errorsOnly ? all.filter((row) => row.errors > 0) : all
  const whole = expanded === dimension || rows.length <= BREAKDOWN_TOP
  const anchor = `#analytics-${errorsOnly ? 'error-' : ''}${PLURAL[dimension]}`
  const url = (extra: Record<string, string>) =>
    dashboardUrl(tenantSlug, range, 'analytics.dashboard.show', extra) + anchor
  return {
    rows: tableRows(tenantSlug, range, whole ? rows : rows.slice(0, BREAKDOWN_TOP), dimension),
    toggle:
      rows.length <= BREAKDOWN_TOP
        ? null
        : whole
          ? { label: `Show the top ${BREAKDOWN_TOP}`, url: url({}) }
          : {
              label: `Show all ${number.format(rows.length)} ${errorsOnly ? 'failing ' : ''}${PLURAL[dimension]}`,
              url: url({ all: dimension }),
            },
  }
}

/** Breakdown rows as shown: formatted figures and drill-down links. */
function tableRows(tenantSlug: string, range: Range, rows: UsageRow[], dimension: Expandable) {
  return rows.map((row) => ({
    label: row.label,
    runs: number.format(row.runs),
    successRate: percent(row.succeeded, row.runs),
    errors: number.format(row.errors),
    errorRate: percent(row.errors, row.runs),
    tokens: number.format(row.inputTokens + row.outputTokens),
    credits: formatCredits(row.creditsMicros),
    p50: ms(row.latencyP50),
    p95: ms(row.latencyP95),
    drill: runsUrl(tenantSlug, range, slice(dimension, row)),
    errorsDrill: runsUrl(tenantSlug, range, { ...slice(dimension, row), status: 'failed' }),
  }))
}

/**
 * The Errors card's "By error type" rows: each links to the failed runs of that type over the
 * range's local days. `unclassified`: failures the card counts that no type row holds (counted
 * before error types were; a rebuild classifies them).
 */
export function errorTypeRows(
  tenantSlug: string,
  range: Range,
  rows: ErrorTypeRow[],
  totalErrors: number
) {
  const classified = rows.reduce((sum, row) => sum + row.runs, 0)
  return {
    rows: rows.map((row) => ({
      type: row.errorType,
      label: row.label,
      runs: number.format(row.runs),
      share: percent(row.runs, totalErrors),
      drill: runsUrl(tenantSlug, range, { status: 'failed', error: row.errorType }),
    })),
    unclassified: Math.max(0, totalErrors - classified),
  }
}

type Bar = { x: number; y: number; width: number; height: number; title: string; href: string }

/**
 * Geometry of a drillable bar chart (the SVG is drawn by analytics::components/bar_chart): a
 * y axis with round ticks, one bar per bucket with its link and hover title.
 */
export function barChart(
  points: { label: string; value: number; title: string; href: string }[],
  size = { width: 720, height: 220 }
) {
  const margin = { top: 12, right: 8, bottom: 30, left: 52 }
  const plotWidth = size.width - margin.left - margin.right
  const plotHeight = size.height - margin.top - margin.bottom
  const max = Math.max(0, ...points.map((p) => p.value))
  const rough = max > 0 ? max / 4 : 1
  const magnitude = 10 ** Math.floor(Math.log10(rough))
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough)!
  const top = Math.max(step, Math.ceil(max / step) * step)
  const yOf = (value: number) => margin.top + plotHeight - (value / top) * plotHeight
  const band = points.length ? plotWidth / points.length : plotWidth
  const every = Math.max(1, Math.ceil(64 / band))
  const bottom = margin.top + plotHeight
  const bars: Bar[] = points.map((p, i) => {
    const height = +(bottom - yOf(p.value)).toFixed(1)
    // An empty bucket keeps a 1-unit sliver on the axis, so it can still be hovered and followed.
    return {
      x: +(margin.left + band * i + band * 0.15).toFixed(1),
      y: height > 0 ? +yOf(p.value).toFixed(1) : bottom - 1,
      width: +(band * 0.7).toFixed(1),
      height: height > 0 ? height : 1,
      title: p.title,
      href: p.href,
    }
  })
  // Axis labels under every `every`-th bar (the others would overlap).
  const labels = points
    .map((p, i) => ({ x: +(margin.left + band * (i + 0.5)).toFixed(1), text: p.label }))
    .filter((_, i) => i % every === 0)
  const ticks = Array.from({ length: Math.round(top / step) + 1 }, (_, i) => ({
    y: +yOf(i * step).toFixed(1),
    label: number.format(i * step),
  }))
  // The bars' markup in one loop: a 90-day dashboard draws 180, and the template's per-item
  // iteration and escaping of six attributes each were most of its rendering time.
  const barsHtml = bars
    .map((bar) => {
      const href = escapeHtml(bar.href)
      return (
        `<a href="${href}" hx-get="${href}"><title>${escapeHtml(bar.title)}</title>` +
        `<rect class="chart-bar" x="${bar.x}" y="${bar.y}" width="${bar.width}" height="${bar.height}" rx="2"/></a>`
      )
    })
    .join('\n')
  return {
    ...size,
    margin,
    right: size.width - margin.right,
    empty: max === 0,
    barsHtml,
    labels,
    ticks,
    labelY: size.height - 10,
  }
}

/** The series chart of runs per bucket, each bar drilling into that bucket's runs. */
export function seriesChart(
  tenantSlug: string,
  range: Range,
  report: Report,
  metric: 'runs' | 'errors'
) {
  const valueOf = (row: Report['series'][number]) => (metric === 'runs' ? row.runs : row.errors)
  return barChart(
    report.series.map((row, i) => {
      const day =
        range.granularity === 'day'
          ? row.key!
          : DateTime.fromISO(row.key!, { zone: 'UTC' }).setZone(range.timeZone).toISODate()!
      const value = valueOf(row)
      const detail =
        metric === 'runs'
          ? `, ${number.format(row.errors)} errors, ${formatCredits(row.creditsMicros)} credits`
          : ''
      // Hover details: the value, its period and the change from the bar before.
      const delta = i === 0 ? 0 : value - valueOf(report.series[i - 1])
      const change =
        i === 0
          ? ''
          : delta === 0
            ? ' (same as the bar before)'
            : ` (${delta > 0 ? '+' : '−'}${number.format(Math.abs(delta))} on the bar before)`
      return {
        label: row.label,
        value,
        title: `${row.label}: ${number.format(value)} ${metric === 'runs' ? 'runs' : 'errors'}${detail}${change}`,
        // An hourly bar opens exactly its hour; a daily one its local day.
        href: runsUrl(tenantSlug, range, {
          from: day,
          to: day,
          hour: range.granularity === 'hour' ? row.key! : undefined,
          status: metric === 'errors' ? 'failed' : undefined,
        }),
      }
    })
  )
}

/**
 * Credits burn: the average daily spend of the last 7 local days (today included) and how
 * many days the available credits last at that rate.
 */
export function burnForecast(balance: Balance, lastWeek: bigint) {
  const available = BigInt(balance.available)
  const perDay = lastWeek / 7n
  const daysLeft = perDay > 0n ? Number(available / perDay) : null
  return {
    available: formatCredits(available),
    perDay: formatCredits(perDay),
    daysLeft,
    text:
      daysLeft === null
        ? 'No spend in the last 7 days: the balance is not being used up.'
        : `At ${formatCredits(perDay)} credits a day, the ${formatCredits(available)} available credits ` +
          `last about ${number.format(daysLeft)} more day${daysLeft === 1 ? '' : 's'}.`,
  }
}
