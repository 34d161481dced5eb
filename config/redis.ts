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
      // Fail fast while Redis is down: a command waits for at most one reconnect attempt (a
      // request then answers 503 in ~100 ms instead of hanging for seconds), and reconnects
      // are frequent enough that service resumes within ~100 ms of Redis.
      maxRetriesPerRequest: 0,
      connectTimeout: 2000,
      retryStrategy(times) {
        return Math.min(times * 25, 100)
      },
    },
  },
})

export default redisConfig

declare module '@adonisjs/redis/types' {
  export interface RedisConnections extends InferConnections<typeof redisConfig> {}
}
