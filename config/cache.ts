import { defineConfig, drivers, store } from '@adonisjs/cache'
import type { InferStores } from '@adonisjs/cache/types'
import { redisUrl } from '#config/redis_url'

/**
 * Memory L1 always; with Redis, an L2 shared by every process plus a bus that keeps each
 * process's L1 in sync when an entry is invalidated.
 */
const memory = drivers.memory({ maxSize: '64mb' })

const cacheConfig = defineConfig({
  default: 'default',
  stores: {
    default: redisUrl
      ? store()
          .useL1Layer(memory)
          .useL2Layer(drivers.redis({ connectionName: 'main' }))
          .useBus(drivers.redisBus({ connectionName: 'main' }))
      : store().useL1Layer(memory),
  },
})

export default cacheConfig

declare module '@adonisjs/cache/types' {
  interface CacheStores extends InferStores<typeof cacheConfig> {}
}
