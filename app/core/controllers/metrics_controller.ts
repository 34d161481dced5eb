import type { HttpContext } from '@adonisjs/core/http'
import { metricsRegistry } from '#core/metrics'
import { problem } from '#core/problem'

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1'])

/** Callers other than loopback may read metrics when this hook (set by auth) accepts them. */
let remoteReaderCheck: (ctx: HttpContext) => Promise<boolean> = async () => false

export function allowRemoteMetricsReader(check: (ctx: HttpContext) => Promise<boolean>) {
  remoteReaderCheck = check
}

/** Prometheus text format; only from loopback or for a platform admin's token. */
export default class MetricsController {
  async show(ctx: HttpContext) {
    if (!LOOPBACK.has(ctx.request.ip()) && !(await remoteReaderCheck(ctx))) {
      return ctx.response
        .status(403)
        .header('content-type', 'application/problem+json')
        .send(
          JSON.stringify(
            problem(403, 'Metrics are readable from loopback or with a platform-admin token.', {
              request_id: ctx.request.id(),
            })
          )
        )
    }
    ctx.response.header('content-type', metricsRegistry.contentType)
    return ctx.response.send(await metricsRegistry.metrics())
  }
}
