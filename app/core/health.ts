import db from '@adonisjs/lucid/services/db'
import logger from '@adonisjs/core/services/logger'
import redis from '@adonisjs/redis/services/main'
import { redisUrl } from '#config/redis_url'

/** A check's outcome as the probe shows it: never the error text (hosts, users, driver details). */
export type CheckResult = { status: 'ok' | 'down' | 'skipped'; latency_ms?: number }

function withTimeout<T>(promise: Promise<T>, ms: number) {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms).unref()
    ),
  ])
}

async function check(name: string, run: () => Promise<unknown>): Promise<CheckResult> {
  const started = performance.now()
  try {
    await withTimeout(run(), 2000)
    return { status: 'ok', latency_ms: Math.round(performance.now() - started) }
  } catch (error) {
    // The reason goes to the log, where operators look; the unauthenticated probe only says down.
    logger.warn({ err: error, check: name }, `readiness check "${name}" failed`)
    return { status: 'down' }
  }
}

/** Readiness: the database answers, and Redis too when it is configured. */
export async function readiness() {
  const [database, cache] = await Promise.all([
    check('database', () => db.rawQuery('select 1')),
    redisUrl
      ? check('redis', () => redis.ping())
      : Promise.resolve<CheckResult>({ status: 'skipped' }),
  ])
  const ok = database.status === 'ok' && cache.status !== 'down'
  return { status: ok ? 'ok' : 'down', checks: { database, redis: cache } } as const
}
