import emitter from '@adonisjs/core/services/emitter'
import db from '@adonisjs/lucid/services/db'
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
      if (this.transacting || !READS.has(query.method ?? '') || !isTransientError(error)) throw error
      const fresh = await client.acquireConnection()
      try {
        return await run(fresh, query)
      } finally {
        await client.releaseConnection(fresh)
      }
    }
  }
}

/** Applies the retry to every Lucid connection, open now or opened later. */
export function retryDatabaseReads() {
  const apply = (connection: { client?: { client: unknown }; readClient?: { client: unknown } }) => {
    for (const knex of [connection.client, connection.readClient]) if (knex) retryReadsOnFreshConnection(knex.client as KnexClient)
  }
  emitter.on('db:connection:connect', (connection) => apply(connection as any))
  for (const { connection } of db.manager.connections.values()) if (connection) apply(connection as any)
}
