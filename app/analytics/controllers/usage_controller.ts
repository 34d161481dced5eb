import type { HttpContext } from '@adonisjs/core/http'
import { DateTime } from 'luxon'
import { authorize, currentTenant } from '#tenants'
import { usageReport } from '#analytics/services/reports'
import { usageReportJson } from '#analytics/dtos/usage'
import { resolveRange } from '#analytics/services/ranges'
import { usageValidator } from '#analytics/validators/usage'

const DEFAULT_DAYS = 30

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
    return usageReportJson(report, groupBy)
  }
}
