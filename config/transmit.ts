import { defineConfig } from '@adonisjs/transmit'
import { redis } from '@boringnode/bus/transports/redis'
import { redisUrl } from '#config/redis_url'

/** SSE fan-out: in one process nothing to relay; with Redis every process sees every event. */
export default defineConfig({
  pingInterval: '30s',
  transport: redisUrl ? { driver: redis({ ...redisUrl, keyPrefix: 'agora:transmit:' }) } : null,
})
