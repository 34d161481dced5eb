import { defineConfig } from '@adonisjs/redis'
import type { InferConnections } from '@adonisjs/redis/types'
import { redisUrl } from '#config/redis_url'

/** Only used when REDIS_URL is set; connections open lazily, so nothing dials Redis without it. */
const redisConfig = defineConfig({
  connection: 'main',
  connections: {
    main: {
      host: redisUrl?.host ?? '127.0.0.1',
      port: redisUrl?.port ?? 6379,
      username: redisUrl?.username,
      password: redisUrl?.password,
      db: redisUrl?.db ?? 0,
      tls: redisUrl?.tls,
      keyPrefix: '',
      lazyConnect: true,
      maxRetriesPerRequest: 3,
      retryStrategy(times) {
        return Math.min(times * 200, 2000)
      },
    },
  },
})

export default redisConfig

declare module '@adonisjs/redis/types' {
  export interface RedisConnections extends InferConnections<typeof redisConfig> {}
}
