import { DateTime } from 'luxon'
import { formatCredits, urlFor, type RouteName } from '#core'
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

/** A breakdown table's rows as shown: formatted figures and a drill-down link. */
export function tableRows(
  tenantSlug: string,
  range: Range,
  rows: UsageRow[],
  dimension: 'agent' | 'member' | 'model'
) {
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

type Bar = {
  x: number
  y: number
  width: number
  height: number
  label: string
  title: string
  href: string
  tick: boolean
}

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
  const bars: Bar[] = points.map((p, i) => ({
    x: +(margin.left + band * i + band * 0.15).toFixed(1),
    y: +yOf(p.value).toFixed(1),
    width: +(band * 0.7).toFixed(1),
    height: +(margin.top + plotHeight - yOf(p.value)).toFixed(1),
    label: p.label,
    title: p.title,
    href: p.href,
    tick: i % every === 0,
  }))
  const ticks = Array.from({ length: Math.round(top / step) + 1 }, (_, i) => ({
    y: +yOf(i * step).toFixed(1),
    label: number.format(i * step),
  }))
  return {
    ...size,
    margin,
    bottom: margin.top + plotHeight,
    right: size.width - margin.right,
    bars,
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
