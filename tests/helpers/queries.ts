import emitter from '@adonisjs/core/services/emitter'
import db from '@adonisjs/lucid/services/db'

/**
 * The SQL of every query the app's connection ran during `fn` (the test's global transaction,
 * when there is one): Lucid reports queries only while its client's `debug` flag is on.
 */
export async function queriesDuring(fn: () => Promise<unknown>) {
  const client = db.connection() as unknown as { debug: boolean }
  const seen: string[] = []
  const listener = (query: { sql: string }) => void seen.push(query.sql)
  const before = client.debug
  emitter.on('db:query', listener)
  client.debug = true
  try {
    await fn()
  } finally {
    client.debug = before
    emitter.off('db:query', listener)
  }
  return seen
}
