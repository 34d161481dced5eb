import type { HttpContext } from '@adonisjs/core/http'
import { composedBody, isHtmx, renderPageOrFragment, urlFor } from '#core'
import { balanceOf } from '#credits'
import { authorize, currentTenant, type Tenant } from '#tenants'
import { dashboardReport } from '#analytics/services/reports'
import { dailyCredits } from '#analytics/services/rollups'
import { cachedDto, rollupVersion } from '#analytics/services/cache'
import {
  localClock,
  PRESETS,
  rangeOrDefault,
  shiftDay,
  type Range,
} from '#analytics/services/ranges'
import {
  breakdownTable,
  burnForecast,
  dashboardUrl,
  EXPANDABLE,
  errorTypeRows,
  kpiCards,
  seriesChart,
  type Expandable,
} from '#analytics/services/presenters'

/** The range in the query string; a malformed one shows its message over the default range. */
export function pageRange(
  ctx: HttpContext,
  tenant: Tenant
): { range: Range; error: { field: string; message: string } | null } {
  const qs = ctx.request.qs()
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined)
  const { range, error } = rangeOrDefault(
    { range: text(qs.range), from: text(qs.from), to: text(qs.to) },
    tenant.timeZone
  )
  return { range, error: error && { field: error.field as string, message: error.message } }
}

function kpiState(tenant: Tenant, range: Range, report: Report) {
  return {
    tenant,
    range,
    cards: kpiCards(report.total, report.previous),
    updatedAt: localClock(range.timeZone).time,
  }
}

type Report = Awaited<ReturnType<typeof dashboardReport>>
type Figures = Awaited<ReturnType<typeof figuresHtml>>

/**
 * The figures' HTML goes into the rendered page at these markers, after Edge: every template
 * level re-scans its whole output (trimming, stacks), and the figures are ~150 KB of it.
 */
const SLOTS: Figures = {
  series: '<!--agora:figures:series-->',
  credits: '<!--agora:figures:credits-->',
  tables: '<!--agora:figures:tables-->',
}
const SLOT = /<!--agora:figures:(series|credits|tables)-->/

/**
 * The figures as UTF-8, per cached figures object (the cache hands out the same object until it
 * drops it): encoding ~100 KB of text with non-Latin-1 characters cost ~1 ms per page.
 */
const encoded = new WeakMap<Figures, Record<keyof Figures, Buffer>>()

/**
 * The page's bytes: the rendered page with the encoded figures at the markers, composed so that
 * a gzip answer reuses the figures' compressed bytes as long as the figures stay cached.
 */
function withFigures(html: string, figures: Figures): Buffer {
  let bytes = encoded.get(figures)
  if (!bytes) {
    const { series, credits, tables } = figures
    bytes = {
      series: Buffer.from(series),
      credits: Buffer.from(credits),
      tables: Buffer.from(tables),
    }
    encoded.set(figures, bytes)
  }
  // split() with the capturing group: odd entries are the part names.
  const pieces = html.split(new RegExp(SLOT, 'g'))
  return composedBody(
    pieces.map((piece, i) => (i % 2 ? bytes[piece as keyof Figures] : Buffer.from(piece)))
  )
}

/** The breakdown whose every row is shown (`?all=`); the others show their top rows. */
function expandedDimension(ctx: HttpContext): Expandable | null {
  const all = ctx.request.qs().all
  return EXPANDABLE.find((dimension) => dimension === all) ?? null
}

/**
 * The dashboard's charts and tables as HTML, rendered once per rollup version, range and
 * expanded breakdown: they depend on the report alone (links carry only the workspace, the
 * range and `all`), so a cached dashboard renders just the page around them.
 */
function figuresHtml(
  ctx: HttpContext,
  tenant: Tenant,
  range: Range,
  report: Report,
  version: string,
  expanded: Expandable | null
) {
  const filters = {
    from: range.start.toISO(),
    to: range.end.toISO(),
    g: range.granularity,
    all: expanded,
  }
  const table = (rows: Report['agent'], dimension: Expandable, errorsOnly = false) =>
    breakdownTable(tenant.slug, range, rows, dimension, { expanded, errorsOnly })
  return cachedDto(
    tenant.id,
    'dashboard-html',
    filters,
    async () => {
      const state = {
        range,
        runsChart: seriesChart(tenant.slug, range, report, 'runs'),
        errorsChart: seriesChart(tenant.slug, range, report, 'errors'),
        creditPoints: report.series.map((row) => ({
          label: row.label,
          value: Number(BigInt(row.creditsMicros)) / 1e6,
        })),
        agents: table(report.agent, 'agent'),
        members: table(report.member, 'member'),
        models: table(report.model, 'model'),
        errorAgents: table(report.agent, 'agent', true),
        errorModels: table(report.model, 'model', true),
        totalErrors: report.total.errors,
        // A report cached before error types were counted has none.
        errorTypes: errorTypeRows(tenant.slug, range, report.errorTypes ?? [], report.total.errors),
        csv: (table: 'days' | 'agents' | 'members' | 'models' | 'errors') =>
          dashboardUrl(tenant.slug, range, `analytics.exports.${table}` as const),
      }
      const part = (name: 'series' | 'credits' | 'tables') =>
        ctx.view.render('analytics::components/figures', { ...state, part: name })
      const [series, credits, tables] = await Promise.all([
        part('series'),
        part('credits'),
        part('tables'),
      ])
      return { series, credits, tables }
    },
    version,
    { counted: false }
  )
}

/** Micro-credits spent over the last 7 local days (today included), per rollup version. */
function lastWeekCredits(tenantId: string, timeZone: string, version: string) {
  const to = localClock(timeZone).day
  const from = shiftDay(to, -6)
  return cachedDto(
    tenantId,
    'last-week-credits',
    { from, to },
    async () =>
      [...(await dailyCredits(tenantId, from, to)).values()]
        .reduce((sum, micros) => sum + micros, 0n)
        .toString(),
    version,
    { counted: false }
  )
}

/**
 * /t/:tenant/analytics: KPIs, the series, breakdowns, errors and credits burn for a range, all
 * from rollups. htmx range changes get the dashboard fragment alone, and so does the live refresh.
 */
export default class DashboardController {
  async show(ctx: HttpContext) {
    const started = performance.now()
    authorize(ctx, 'analytics.read')
    const { tenant } = currentTenant(ctx)
    const { range, error } = pageRange(ctx, tenant)
    const expanded = expandedDimension(ctx)
    // Live refresh: the page asks every few seconds with the rollup version it shows; while no
    // run was counted since, the answer is an empty 204 (one statement, nothing rendered), which
    // htmx leaves alone.
    const version = await rollupVersion(tenant.id)
    const since = ctx.request.input('since')
    if (isHtmx(ctx) && typeof since === 'string' && since === version)
      return ctx.response.noContent()
    const [report, balance, lastWeek] = await Promise.all([
      dashboardReport(tenant.id, range, version),
      balanceOf(tenant.id),
      lastWeekCredits(tenant.id, range.timeZone, version),
    ])
    const figured = performance.now()
    const figures = await figuresHtml(ctx, tenant, range, report, version, expanded)
    const state = {
      tenant,
      range,
      error,
      presets: PRESETS.map((preset) => ({
        preset,
        label: preset,
        url: urlFor('analytics.dashboard.show', { tenant: tenant.slug }, { qs: { range: preset } }),
        current: range.preset === preset,
      })),
      kpis: kpiState(tenant, range, report),
      liveUrl: dashboardUrl(tenant.slug, range, 'analytics.dashboard.show', {
        ...(expanded && { all: expanded }),
        since: version,
      }),
      figures: SLOTS,
      burn: burnForecast(balance, BigInt(lastWeek)),
    }
    // A range change swaps the dashboard alone.
    const html = withFigures(
      await renderPageOrFragment(
        ctx,
        { page: 'analytics::pages/dashboard', fragment: 'analytics::components/dashboard' },
        state,
        () => ({ ...state, state })
      ),
      figures
    )
    // Server time of the dashboard (figures + rendering), read by bench/analytics.js.
    const ended = performance.now()
    const dur = (ms: number) => ms.toFixed(2)
    ctx.response.header('content-type', 'text/html; charset=utf-8')
    ctx.response.header(
      'Server-Timing',
      `dashboard;dur=${dur(ended - started)}, figures;dur=${dur(figured - started)}, render;dur=${dur(ended - figured)}`
    )
    return html
  }
}
