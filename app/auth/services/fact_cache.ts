import cache from '@adonisjs/cache/services/main'
import logger from '@adonisjs/core/services/logger'
import type { LucidModel } from '@adonisjs/lucid/types/model'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import { bus, inBackground } from '#core'
import { redisUrl } from '#config/redis_url'

/** Without Redis, deletes reach other processes through the PostgreSQL bus (LISTEN/NOTIFY). */
const POSTGRES_BUS = !redisUrl && Boolean(process.env.DATABASE_URL)

/**
 * How long a cached fact lives. With Redis (the cache's own bus) or PostgreSQL (ours) a delete
 * reaches every process's memory, so entries may live longer; on the embedded database a
 * process only sees its own deletes (and `node ace` may write from another process), so an
 * entry must expire before a revocation is 1 s old.
 */
export const FACT_TTL_MS = redisUrl || POSTGRES_BUS ? 30_000 : 800

/**
 * A second delete this long after the first catches a request that read the old row before the
 * write and stored it after the first delete.
 */
const SECOND_DELETE_MS = 300

/** A row as plain JSON: what may go to Redis and come back unchanged. */
export type Facts = Record<string, unknown>

/** A database row as plain JSON (dates as ISO strings), without the `omit` columns (secrets). */
export function toFacts(row: Record<string, unknown>, omit: readonly string[] = []): Facts {
  const facts: Facts = {}
  for (const [column, value] of Object.entries(row)) {
    if (omit.includes(column)) continue
    facts[column] = value instanceof Date ? value.toISOString() : value
  }
  return facts
}

/** A persisted model instance from facts, as if it had just been loaded from the database. */
export function hydrate<Model extends LucidModel>(model: Model, facts: Facts): InstanceType<Model> {
  const row: Record<string, unknown> = { ...facts }
  for (const column of model.$columnsDefinitions.values()) {
    const value = row[column.columnName]
    if (
      typeof value === 'string' &&
      (column.meta?.type === 'datetime' || column.meta?.type === 'date')
    )
      row[column.columnName] = new Date(value)
  }
  return model.$createFromAdapterResult(row) as InstanceType<Model>
}

/**
 * Short-lived facts in one cache namespace (memory, plus Redis and its bus when configured),
 * deleted by the owner's writes. Misses are not cached: a row created later is seen at once.
 */
export class FactCache {
  #store: ReturnType<typeof cache.namespace> | undefined

  constructor(private namespace: string) {
    if (POSTGRES_BUS) {
      bus.subscribe(`cache:${namespace}`, (message) =>
        inBackground(this.#delete(JSON.parse(message)), 'invalidating cached facts')
      )
      // Deletes sent while this process was not listening are lost: forget everything.
      bus.subscribe(
        'bus:reconnected',
        () =>
          void this.#cache()
            .clear()
            .catch(() => {})
      )
    }
  }

  #cache() {
    return (this.#store ??= cache.namespace(this.namespace))
  }

  async get<T extends Facts>(key: string, load: () => Promise<T | null>): Promise<T | null> {
    const value = await this.#cache().getOrSet<T | undefined>({
      key,
      ttl: FACT_TTL_MS,
      factory: async (ctx) => (await load()) ?? ctx.skip(),
    })
    return value ?? null
  }

  /** Deletes keys in every process, once now and once a moment later (see SECOND_DELETE_MS). */
  async forget(keys: string[]) {
    if (!keys.length) return
    await this.#delete(keys)
    if (POSTGRES_BUS) await bus.publish(`cache:${this.namespace}`, JSON.stringify(keys))
    setTimeout(
      () => inBackground(this.#delete(keys), 'invalidating cached facts'),
      SECOND_DELETE_MS
    ).unref()
  }

  /**
   * Forgets now and, inside a transaction, again once it commits: until then another request may
   * refill the cache with the old row.
   */
  async forgetAfterCommit(keys: string[], trx?: TransactionClientContract | null) {
    await this.forget(keys)
    trx?.after('commit', () => this.forget(keys))
  }

  async #delete(keys: string[]) {
    try {
      await this.#cache().deleteMany({ keys })
    } catch (error) {
      logger.error({ err: error, namespace: this.namespace, keys }, 'cache invalidation failed')
    }
  }
}
