import { defineConfig, drivers } from '@adonisjs/queue'
import { redisUrl } from '#config/redis_url'

/**
 * Queued runs and jobs: in PostgreSQL (or the embedded PGlite) through the database adapter, or
 * in Redis with REDIS_URL. Work is done by `node ace queue:work` processes, or by the web
 * process itself while none is alive (app/agents/services/run_queue.ts). The redis adapter
 * opens a connection at boot, so it is only declared when REDIS_URL is set.
 */
export default defineConfig({
  default: redisUrl ? 'redis' : 'database',
  adapters: {
    database: drivers.database(),
    ...(redisUrl ? { redis: drivers.redis({ connectionName: 'main' }) } : {}),
  },
  // Recovery of a run whose process died is the run engine's (owners and leases), not a retry.
  defaultJobOptions: { maxRetries: 0, removeOnComplete: true, removeOnFail: { count: 1000 } },
  locations: ['app/agents/jobs/**/*.{ts,js}'],
  // One job at a time: a job only claims and starts its run (runs execute concurrently, up to
  // QUEUE_RUN_CONCURRENCY per process), and each idle slot would poll the database.
  worker: { concurrency: 1, idleDelay: '1s', gracefulShutdown: false },
})
