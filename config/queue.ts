import { defineConfig, drivers } from '@adonisjs/queue'
import { redisUrl } from '#config/redis_url'

/**
 * Jobs run inline (`sync`) in a single process; with Redis they go to a queue served by
 * `node ace queue:work` workers. The redis adapter opens a connection at boot, so it is only
 * declared when REDIS_URL is set.
 */
export default defineConfig({
  default: redisUrl ? 'redis' : 'sync',
  adapters: {
    sync: drivers.sync(),
    ...(redisUrl ? { redis: drivers.redis({ connectionName: 'main' }) } : {}),
  },
  worker: { concurrency: 5, idleDelay: '2s' },
})
