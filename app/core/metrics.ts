import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client'

/** The process-wide Prometheus registry; modules register their own metrics on it. */
export const metricsRegistry = new Registry()
collectDefaultMetrics({ register: metricsRegistry })

export const httpRequests = new Counter({
  name: 'agora_http_requests_total',
  help: 'HTTP requests by method, route pattern and status',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [metricsRegistry],
})

export const httpDuration = new Histogram({
  name: 'agora_http_request_duration_seconds',
  help: 'HTTP request latency by method and route pattern',
  labelNames: ['method', 'route'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metricsRegistry],
})

/** Cache lookups by result (`hit`, `miss`), from the cache's own events (see trackCacheRequests). */
export const cacheRequests = new Counter({
  name: 'agora_cache_requests_total',
  help: 'Cache lookups by result',
  labelNames: ['result'] as const,
  registers: [metricsRegistry],
})

/** Counts the cache's hit and miss events (the cache reports them on the app emitter). */
export function trackCacheRequests(emitter: { on(event: string, fn: () => void): unknown }) {
  emitter.on('cache:hit', () => cacheRequests.inc({ result: 'hit' }))
  emitter.on('cache:miss', () => cacheRequests.inc({ result: 'miss' }))
}
