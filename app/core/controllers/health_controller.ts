import type { HttpContext } from '@adonisjs/core/http'
import { readiness } from '#core/health'

/** Liveness and readiness probes for load balancers and orchestrators. */
export default class HealthController {
  live({ response }: HttpContext) {
    return response.json({ status: 'ok' })
  }

  async ready({ response }: HttpContext) {
    const result = await readiness()
    return response.status(result.status === 'ok' ? 200 : 503).json(result)
  }
}
