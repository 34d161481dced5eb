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

/**
 * The data statements (not the tenant binding's `set_config`) a GET of `url` runs on a warm
 * session: after a warm-up, the fewest of three tries. Without Redis cached rows live under a
 * second, and a slow render (a first template compile) can outlast them, which is not the page's
 * own cost.
 */
export async function warmPageStatements(
  web: { get(url: string): Promise<{ assertStatus(status: number): void }> },
  url: string
) {
  ;(await web.get(url)).assertStatus(200)
  let fewest: string[] | null = null
  for (let i = 0; i < 3; i++) {
    const sql = (await queriesDuring(async () => (await web.get(url)).assertStatus(200))).filter(
      (q) => !/^select set_config\(/i.test(q)
    )
    if (!fewest || sql.length < fewest.length) fewest = sql
  }
  return fewest!
}
