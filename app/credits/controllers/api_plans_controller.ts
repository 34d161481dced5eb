import type { HttpContext } from '@adonisjs/core/http'
import { authorize } from '#tenants'
import { listPlans } from '#credits/services/plans'
import { packsJson, planJson } from '#credits/services/billing_json'

/** GET /api/v1/plans and GET /api/v1/credits/packs: what can be bought. */
export default class ApiPlansController {
  async index(ctx: HttpContext) {
    authorize(ctx, 'credits.read')
    return { data: (await listPlans()).map(planJson) }
  }

  async packs(ctx: HttpContext) {
    authorize(ctx, 'credits.read')
    return { data: packsJson() }
  }
}
