import type { HttpContext } from '@adonisjs/core/http'
import { DateTime } from 'luxon'
import { formatCredits } from '#core'
import { authorize, currentTenant } from '#tenants'
import { usageReport, type UsageRow } from '#analytics/services/reports'
import { resolveRange } from '#analytics/services/ranges'
import { usageValidator } from '#analytics/validators/usage'

const DEFAULT_DAYS = 30

function json(row: UsageRow, groupBy: string) {
  return {
    key: row.key,
    label: groupBy === 'day' ? row.key : row.label,
    runs: row.runs,
    errors: row.errors,
    input_tokens: row.inputTokens,
    output_tokens: row.outputTokens,
    credits: formatCredits(row.creditsMicros),
    latency_p50_ms: row.latencyP50,
    latency_p95_ms: row.latencyP95,
  }
}

/** GET /api/v1/analytics/usage (CONTRACT.md): usage per day, agent, member or model, with totals. */
export default class UsageController {
  async index(ctx: HttpContext) {
    authorize(ctx, 'analytics.read')
    const { tenant } = currentTenant(ctx)
    const input = await usageValidator.validate(ctx.request.qs())
    const groupBy = input.group_by ?? 'day'
    // Defaults: the last 30 local days, or 30 days around the one bound given.
    const today = DateTime.now().setZone(tenant.timeZone).toISODate()!
    const shift = (text: string, days: number) => DateTime.fromISO(text).plus({ days }).toISODate()!
    const to =
      input.to ??
      (input.from
        ? shift(input.from, DEFAULT_DAYS - 1) < today
          ? shift(input.from, DEFAULT_DAYS - 1)
          : today
        : today)
    const from = input.from ?? shift(to, -(DEFAULT_DAYS - 1))
    const range = resolveRange({ range: 'custom', from, to }, tenant.timeZone)
    const report = await usageReport(tenant.id, range, groupBy)
    const { key: _key, label: _label, ...totals } = json(report.total, groupBy)
    return { data: report.rows.map((row) => json(row, groupBy)), totals }
  }
}
