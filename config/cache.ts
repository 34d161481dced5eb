import { defineConfig, drivers, store } from '@adonisjs/cache'
import type { InferStores } from '@adonisjs/cache/types'
import { redisUrl } from '#config/redis_url'

/**
 * Memory L1 always; with Redis, an L2 shared by every process plus a bus that keeps each
 * process's L1 in sync when an entry is invalidated.
 */
const layered = (memory: ReturnType<typeof drivers.memory>) =>
  redisUrl
    ? store()
        .useL1Layer(memory)
        .useL2Layer(drivers.redis({ connectionName: 'main' }))
        .useBus(drivers.redisBus({ connectionName: 'main' }))
    : store().useL1Layer(memory)

const cacheConfig = defineConfig({
  default: 'default',
  stores: {
    default: layered(drivers.memory({ maxSize: '64mb' })),
    /**
     * Analytics dashboards: reports and their HTML (~100 KB each) kept as they are, not as JSON —
     * (de)serialising them on every hit was most of a cached page's cache time. Bounded by count
     * (an unserialised entry has no size); entries are frozen, see app/analytics/services/cache.ts.
     * Memory only: bentocache 1.6 puts an L2 hit into an unserialised L1 as JSON text and then
     * fails to read it back, so the entries processes share live in `analyticsShared`.
     */
    analytics: store().useL1Layer(drivers.memory({ serialize: false, maxItems: 256 })),
    /** With Redis: the analytics entries every process shares (as JSON), read on a memory miss. */
    analyticsShared: redisUrl
      ? store().useL2Layer(drivers.redis({ connectionName: 'main' }))
      : store().useL1Layer(drivers.memory({ maxItems: 1 })),
  },
})

export default cacheConfig

declare module '@adonisjs/cache/types' {
  interface CacheStores extends InferStores<typeof cacheConfig> {}
}
