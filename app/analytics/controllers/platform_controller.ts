import type { HttpContext } from '@adonisjs/core/http'
import { platformReport } from '#analytics/services/platform'

/** /admin/analytics: usage across all tenants, for platform admins only. */
export default class PlatformController {
  async show(ctx: HttpContext) {
    return ctx.view.render('analytics::pages/platform', { report: await platformReport() })
  }
}
