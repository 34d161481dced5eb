import emitter from '@adonisjs/core/services/emitter'
import db from '@adonisjs/lucid/services/db'
import { createRequire } from 'node:module'
import { isTransientError } from '#core/transient'

type KnexClient = {
  transacting?: boolean
  _query(connection: unknown, query: { method?: string; sql: string }): Promise<unknown>
  acquireConnection(): Promise<unknown>
  releaseConnection(connection: unknown): Promise<unknown>
}

const READS = new Set(['select', 'first', 'pluck'])
const patched = Symbol('reads retried')

/**
 * A read outside a transaction whose connection dies mid-query (the server restarted, or an
 * operator killed the backend) is run once more on a fresh connection, so a blip costs the
 * client nothing. Writes and transactions are not retried here: their outcome is unknown.
 * Patched on the pool's client instance; transaction clients are separate objects.
 */
export function retryReadsOnFreshConnection(client: KnexClient & { [patched]?: true }) {
  if (client[patched]) return
  client[patched] = true
  const run = client._query.bind(client)
  client._query = async function (connection, query) {
    try {
      return await run(connection, query)
    } catch (error) {
      if (this.transacting || !READS.has(query.method ?? '') || !isTransientError(error))
        throw error
      const fresh = await client.acquireConnection()
      try {
        return await run(fresh, query)
      } finally {
        await client.releaseConnection(fresh)
      }
    }
  }
}

/**
 * knex resolves `commit()` even when the COMMIT fails (the connection died on the way): it
 * reports the failure only to a promise Lucid never reads, so a managed transaction returned
 * success for writes the server never committed (a run answered 201 was lost that way). Here a
 * failed COMMIT rejects, so the caller sees the error and nothing reports work that is not stored.
 */
function failedCommitsReject() {
  const Transaction = createRequire(import.meta.url)('knex/lib/execution/transaction.js')
  const proto = Transaction.prototype as {
    commit(conn: unknown, value: unknown): Promise<unknown>
    _rejecter?: (error: unknown) => void
    [patched]?: true
  }
  if (proto[patched]) return
  proto[patched] = true
  const commit = proto.commit
  proto.commit = function (this: typeof proto, conn, value) {
    let failure: unknown = null
    const reject = this._rejecter!
    this._rejecter = (error) => {
      failure = error ?? new Error('COMMIT failed')
      reject(error)
    }
    return commit.call(this, conn, value).then((result) => {
      if (failure) throw failure
      return result
    })
  }
}

/** Hardens every Lucid connection, open now or opened later: failed commits reject, reads retry once. */
export function hardenDatabase() {
  failedCommitsReject()
  const apply = (connection: {
    client?: { client: unknown }
    readClient?: { client: unknown }
  }) => {
    for (const knex of [connection.client, connection.readClient])
      if (knex) retryReadsOnFreshConnection(knex.client as KnexClient)
  }
  emitter.on('db:connection:connect', (connection) => apply(connection as any))
  for (const { connection } of db.manager.connections.values())
    if (connection) apply(connection as any)
}
