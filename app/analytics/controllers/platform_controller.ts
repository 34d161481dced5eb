import type { HttpContext } from '@adonisjs/core/http'
import { platformReport } from '#analytics/services/platform'

/** /admin/analytics: usage across all tenants, for platform admins only. */
export default class PlatformController {
  async show(ctx: HttpContext) {
    const started = performance.now()
    const html = await ctx.view.render('analytics::pages/platform', {
      report: await platformReport(),
    })
    // Server time of the page (figures + rendering), read by bench/analytics.js.
    ctx.response.header(
      'Server-Timing',
      `dashboard;dur=${(performance.now() - started).toFixed(2)}`
    )
    return html
  }
}
