import { AsyncLocalStorage } from 'node:async_hooks'
import { createRequire } from 'node:module'
import db from '@adonisjs/lucid/services/db'
import logger from '@adonisjs/core/services/logger'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'

/**
 * Seams for binding a stretch of work to one database transaction without threading a client
 * through every call (tenants uses them for row-level security):
 *
 * - `withPinnedTransaction(sql, fn)`: the first query `fn` makes opens a transaction on a pool
 *   connection with `BEGIN; <sql>` (one round trip), and every later query of `fn` (transactions
 *   become savepoints) runs on that connection; it commits when `fn` ends (rolls back if `fn`
 *   throws). Work that makes no query opens nothing.
 * - `withScopedClient(trx, fn)`: while `fn` runs, `db.connection()` for the primary connection
 *   (so every model query and `db.from…`) answers `trx`. Work that outlives `fn` (a background
 *   write started by it) gets the ordinary connection again.
 * - `beginWith(sql, fn)`: the next top-level transaction `fn` opens sends `sql` together with its
 *   BEGIN, in one round trip (simple query protocol: no bindings, so `sql` must be trusted).
 */
type Scope = { client: TransactionClientContract; open: boolean }
const scopes = new AsyncLocalStorage<Scope>()
const beginSuffix = new AsyncLocalStorage<string | undefined>()
const installed = Symbol('scoped client installed')

type PgConnection = { query(sql: string): Promise<unknown>; [PINNED]?: Pin }
type Pin = {
  open: boolean
  sql: string
  connection: Promise<PgConnection> | null
  /** Queries (or transactions) holding the pinned connection right now. */
  users: number
  /** Whether a transaction (a savepoint here) ran on it: then COMMIT is awaited. */
  wrote: boolean
  idle: (() => void) | null
}
type KnexClient = {
  acquireConnection(): Promise<PgConnection>
  releaseConnection(connection: PgConnection): Promise<unknown>
  emit(event: string, data: unknown): void
  [installed]?: true
}
const PINNED = Symbol('pinned to a request')
const ON_PIN = Symbol('savepoint on a pinned connection')
const pins = new AsyncLocalStorage<Pin>()

export async function withPinnedTransaction<T>(sql: string, fn: () => Promise<T>): Promise<T> {
  const client = installPinning()
  const pin: Pin = { open: true, sql, connection: null, users: 0, idle: null, wrote: false }
  let failed = false
  try {
    return await pins.run(pin, fn)
  } catch (error) {
    failed = true
    throw error
  } finally {
    pin.open = false
    if (pin.connection) await unpin(client, pin, failed)
  }
}

async function unpin(client: KnexClient, pin: Pin, failed: boolean) {
  const connection = await pin.connection!.catch(() => null)
  if (!connection) return
  // A query still running on it (started by `fn`, not awaited) finishes inside the transaction.
  if (pin.users > 0) await new Promise<void>((resolve) => (pin.idle = resolve))
  delete connection[PINNED]
  const end = failed ? 'ROLLBACK' : 'COMMIT'
  client.emit('query', { sql: end, bindings: [] })
  const ended = connection.query(end)
  if (pin.wrote) {
    try {
      await ended
    } finally {
      await client.releaseConnection(connection)
    }
    return
  }
  // Reads only: the answer need not wait for COMMIT. The connection goes back to the pool at
  // once; pg runs its next query after the COMMIT, in order.
  ended.catch((error) =>
    logger.warn({ err: error }, 'ending a read-only request transaction failed')
  )
  await client.releaseConnection(connection)
}

function installPinning(): KnexClient {
  installScopedClient()
  const client = (db.connection().getWriteClient() as unknown as { client: KnexClient }).client
  if (client[installed]) return client
  client[installed] = true
  const acquire = client.acquireConnection.bind(client)
  const release = client.releaseConnection.bind(client)
  client.acquireConnection = function () {
    const pin = pins.getStore()
    if (!pin?.open) return acquire()
    pin.users++
    pin.connection ??= acquire().then(async (connection) => {
      try {
        client.emit('query', { sql: `BEGIN; ${pin.sql}`, bindings: [] })
        await connection.query(`BEGIN; ${pin.sql}`)
      } catch (error) {
        await release(connection)
        throw error
      }
      connection[PINNED] = pin
      return connection
    })
    return pin.connection.catch((error) => {
      pin.users--
      throw error
    })
  }
  client.releaseConnection = function (connection) {
    const pin = connection?.[PINNED]
    if (!pin) return release(connection)
    if (--pin.users === 0) pin.idle?.()
    return Promise.resolve()
  }
  return client
}

export async function withScopedClient<T>(client: TransactionClientContract, fn: () => Promise<T>) {
  installScopedClient()
  const scope = { client, open: true }
  try {
    return await scopes.run(scope, fn)
  } finally {
    scope.open = false
  }
}

/** The transaction `withScopedClient` bound the current work to, if any. */
export function scopedClient() {
  const scope = scopes.getStore()
  return scope?.open ? scope.client : null
}

export function beginWith<T>(sql: string, fn: () => Promise<T>) {
  installScopedClient()
  return beginSuffix.run(sql, fn)
}

/** Runs `fn` with no pending BEGIN suffix (the transaction's own body must not inherit it). */
export function withoutBeginSuffix<T>(fn: () => Promise<T>) {
  return beginSuffix.run(undefined, fn)
}

function installScopedClient() {
  const target = db as typeof db & { [installed]?: true }
  if (target[installed]) return
  target[installed] = true
  const connection = db.connection.bind(db)
  db.connection = ((name?: string, options?: { mode?: 'read' | 'write' }) => {
    const client = scopedClient()
    if (client && !options?.mode && (name === undefined || name === db.primaryConnectionName))
      return client
    return connection(name, options)
  }) as typeof db.connection

  const Transaction = createRequire(import.meta.url)(
    'knex/lib/dialects/postgres/execution/pg-transaction.js'
  )
  const proto = Transaction.prototype as {
    txid: string
    [ON_PIN]?: true
    begin(conn: unknown): Promise<unknown>
    commit(conn: unknown, value: unknown): Promise<unknown>
    rollback(conn: unknown, error: unknown): Promise<unknown>
    release(conn: unknown, value: unknown): Promise<unknown>
    rollbackTo(conn: unknown, error: unknown): Promise<unknown>
    query(conn: unknown, sql: string): Promise<unknown>
  }
  const { begin, commit, rollback } = proto
  proto.begin = function (this: typeof proto, conn) {
    const suffix = beginSuffix.getStore()
    // On a pinned connection a transaction is a savepoint of the request's transaction.
    const pin = (conn as PgConnection)[PINNED]
    if (pin) {
      pin.wrote = true
      this[ON_PIN] = true
      return this.query(conn, `SAVEPOINT ${this.txid};${suffix ? ` ${suffix}` : ''}`)
    }
    return suffix ? this.query(conn, `BEGIN; ${suffix}`) : begin.call(this, conn)
  }
  proto.commit = function (this: typeof proto, conn, value) {
    return this[ON_PIN] ? this.release(conn, value) : commit.call(this, conn, value)
  }
  proto.rollback = function (this: typeof proto, conn, error) {
    return this[ON_PIN] ? this.rollbackTo(conn, error) : rollback.call(this, conn, error)
  }
}
