import type { HttpContext } from '@adonisjs/core/http'
import { formatCredits } from '#core'
import { csvField } from '#core'
import { authorize, currentTenant } from '#tenants'
import { dashboardReport, type UsageRow } from '#analytics/services/reports'
import { pageRange } from '#analytics/controllers/dashboard_controller'

export const CSV_COLUMNS = [
  'key',
  'label',
  'runs',
  'succeeded',
  'errors',
  'input_tokens',
  'output_tokens',
  'credits',
  'latency_p50_ms',
  'latency_p95_ms',
]

/** One CSV line of a report row (labels are user text: escaped and formula-guarded). */
export function csvLine(row: UsageRow, prefix: string[] = []) {
  const fields = [
    row.key,
    row.label,
    row.runs,
    row.succeeded,
    row.errors,
    row.inputTokens,
    row.outputTokens,
    formatCredits(row.creditsMicros),
    row.latencyP50,
    row.latencyP95,
  ]
  return (
    [...prefix, ...fields].map((value, i) => csvField(value, i === prefix.length + 1)).join(',') +
    '\r\n'
  )
}

/** The dashboard's tables as CSV: /t/:tenant/analytics/{days,agents,members,models,errors}.csv, same range. */
export default class ExportsController {
  async show(ctx: HttpContext) {
    authorize(ctx, 'analytics.read')
    const { tenant } = currentTenant(ctx)
    const { range } = pageRange(ctx, tenant)
    const report = await dashboardReport(tenant.id, range)
    const table = ctx.route!.pattern.split('/').at(-1)!.replace('.csv', '')
    let body: string
    if (table === 'errors') {
      const rows = [
        ...report.agent.map((row) => ['agent', row] as const),
        ...report.model.map((row) => ['model', row] as const),
      ].filter(([, row]) => row.errors > 0)
      body =
        ['dimension', ...CSV_COLUMNS].join(',') +
        '\r\n' +
        rows.map(([dimension, row]) => csvLine(row, [dimension])).join('')
    } else {
      const rows =
        table === 'days'
          ? report.series
          : report[table === 'agents' ? 'agent' : table === 'members' ? 'member' : 'model']
      body = CSV_COLUMNS.join(',') + '\r\n' + rows.map((row) => csvLine(row)).join('')
    }
    ctx.response.header('content-type', 'text/csv; charset=utf-8')
    ctx.response.header(
      'content-disposition',
      `attachment; filename="analytics-${table}-${tenant.slug}-${range.fromDay}-${range.toDay}.csv"`
    )
    ctx.response.header('cache-control', 'no-store')
    return body
  }
}
