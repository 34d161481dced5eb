import { defineConfig, stores } from '@adonisjs/limiter'
import type { InferLimiters } from '@adonisjs/limiter/types'
import { redisUrl } from '#config/redis_url'

/** Rate-limit counters in Redis when configured (shared by all processes), else in memory. */
const limiterConfig = defineConfig({
  default: redisUrl ? 'redis' : 'memory',
  stores: {
    memory: stores.memory({}),
    // Resolved lazily; the connection is lazy too, so nothing dials Redis unless it is the default.
    redis: stores.redis({ connectionName: 'main' }),
  },
})

export default limiterConfig

declare module '@adonisjs/limiter/types' {
  export interface LimitersList extends InferLimiters<typeof limiterConfig> {}
}
