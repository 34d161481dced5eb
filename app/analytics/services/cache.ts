import cache from '@adonisjs/cache/services/main'
import db from '@adonisjs/lucid/services/db'
import { Counter, Gauge } from 'prom-client'
import { metricsRegistry } from '#core'
import { redisUrl } from '#config/redis_url'

function counter(name: string, help: string, labelNames: string[] = []) {
  return (
    (metricsRegistry.getSingleMetric(name) as Counter<string> | undefined) ??
    new Counter({ name, help, labelNames, registers: [metricsRegistry] })
  )
}

/** Dashboard cache hits and misses (and failed projections) on /metrics. */
export const dashboardCacheCounters = {
  requests: counter(
    'analytics_cache_requests_total',
    'Analytics dashboard cache lookups by result (hit or miss)',
    ['result']
  ),
  projectionFailures: counter(
    'analytics_projection_failures_total',
    'Finished runs the analytics projector could not count (rebuild repairs them)'
  ),
}

if (!metricsRegistry.getSingleMetric('analytics_cache_hit_ratio')) {
  new Gauge({
    name: 'analytics_cache_hit_ratio',
    help: 'Share of analytics dashboard cache lookups answered from the cache since the process started',
    registers: [metricsRegistry],
    async collect() {
      const values = (await dashboardCacheCounters.requests.get()).values
      const count = (result: string) =>
        values.filter((v) => v.labels.result === result).reduce((sum, v) => sum + v.value, 0)
      const total = count('hit') + count('miss')
      this.set(total ? count('hit') / total : 0)
    },
  })
}

/**
 * The tenant's rollup version: the projector bumps it, so a cache key with it goes stale by
 * itself. Without a tenant (platform pages): the sum, count and latest bump over all tenants — a
 * sum alone can come back to an old value when a tenant (and its row) is deleted.
 */
export async function rollupVersion(tenantId: string | null): Promise<string> {
  const row = tenantId
    ? (await db.rawQuery('SELECT version FROM analytics_versions WHERE tenant_id = ?', [tenantId]))
        .rows[0]
    : (
        await db.rawQuery(
          `SELECT coalesce(sum(version), 0) || '.' || count(*) || '.'
                  || coalesce(extract(epoch FROM max(updated_at))::text, '') AS version
           FROM analytics_versions`
        )
      ).rows[0]
  return String(row?.version ?? 0)
}

const store = () => cache.use('analytics')
/** Entries shared by every process (Redis), behind each process's unserialised memory. */
const shared = () => (redisUrl ? cache.use('analyticsShared') : null)

/** Cached values are shared, not copied, by every later hit: nothing may change them. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}

/**
 * A dashboard DTO from the cache (this process's memory, then Redis when configured), keyed by
 * tenant, rollup version and the filters; computed on a miss of both. DTOs must be plain JSON
 * (no bigint, no models); they are frozen, as every hit in the process shares them.
 */
export async function cachedDto<T>(
  tenantId: string | null,
  kind: string,
  filters: Record<string, unknown>,
  factory: () => Promise<T>,
  /** The rollup version when the caller has just read it. */
  knownVersion?: string,
  /** Counted in the hit/miss metrics (a page's second lookup, its HTML, is not). */
  { counted = true } = {}
): Promise<T> {
  const version = knownVersion ?? (await rollupVersion(tenantId))
  const key = `${tenantId ?? 'platform'}:${version}:${kind}:${JSON.stringify(filters, Object.keys(filters).sort())}`
  let missed = false
  const value = await store().getOrSet({
    key,
    ttl: '10m',
    factory: async () => {
      const compute = () => {
        missed = true
        return factory()
      }
      const other = shared()
      return deepFreeze(
        other ? await other.getOrSet({ key, ttl: '10m', factory: compute }) : await compute()
      )
    },
  })
  if (counted) dashboardCacheCounters.requests.inc({ result: missed ? 'miss' : 'hit' })
  return value as T
}
