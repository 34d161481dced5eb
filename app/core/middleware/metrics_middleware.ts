import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'
import { httpDuration, httpRequests } from '#core/metrics'

/** Counts requests and times them by route pattern (never by raw URL: bounded label sets). */
export default class MetricsMiddleware {
  async handle(ctx: HttpContext, next: NextFn) {
    const started = process.hrtime.bigint()
    ctx.response.response.once('finish', () => {
      const route = ctx.route?.pattern ?? 'unmatched'
      const method = ctx.request.method()
      httpRequests.inc({ method, route, status: String(ctx.response.response.statusCode) })
      httpDuration.observe({ method, route }, Number(process.hrtime.bigint() - started) / 1e9)
    })
    return next()
  }
}
