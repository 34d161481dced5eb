import { AsyncLocalStorage } from 'node:async_hooks'
import { createRequire } from 'node:module'
import db from '@adonisjs/lucid/services/db'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'

/**
 * Two seams for binding a stretch of work to one database transaction without threading a
 * client through every call (tenants uses them for row-level security):
 *
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
    begin(conn: unknown): Promise<unknown>
    query(conn: unknown, sql: string): Promise<unknown>
  }
  const begin = proto.begin
  proto.begin = function (this: typeof proto, conn) {
    const suffix = beginSuffix.getStore()
    return suffix ? this.query(conn, `BEGIN; ${suffix}`) : begin.call(this, conn)
  }
}
