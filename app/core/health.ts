import db from '@adonisjs/lucid/services/db'
import redis from '@adonisjs/redis/services/main'
import { redisUrl } from '#config/redis_url'

export type CheckResult = { status: 'ok' | 'down' | 'skipped'; latency_ms?: number; error?: string }

function withTimeout<T>(promise: Promise<T>, ms: number) {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms).unref()
    ),
  ])
}

async function check(run: () => Promise<unknown>): Promise<CheckResult> {
  const started = performance.now()
  try {
    await withTimeout(run(), 2000)
    return { status: 'ok', latency_ms: Math.round(performance.now() - started) }
  } catch (error) {
    return { status: 'down', error: (error as Error).message }
  }
}

/** Readiness: the database answers, and Redis too when it is configured. */
export async function readiness() {
  const [database, cache] = await Promise.all([
    check(() => db.rawQuery('select 1')),
    redisUrl ? check(() => redis.ping()) : Promise.resolve<CheckResult>({ status: 'skipped' }),
  ])
  const ok = database.status === 'ok' && cache.status !== 'down'
  return { status: ok ? 'ok' : 'down', checks: { database, redis: cache } } as const
}
