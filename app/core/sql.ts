import { createHash } from 'node:crypto'
import type { QueryClientContract } from '@adonisjs/lucid/types/database'
import { embedded } from '#config/database'

const names = new Map<string, string>()

/**
 * Raw SQL with positional bindings, sent as a named prepared statement on a real PostgreSQL:
 * each connection parses and plans it once instead of on every call (the hot run and money
 * statements spent ~45 % of their database time in parse and bind). The name is derived from
 * the text, so one name never means two statements. Not on the embedded PGlite, whose sockets
 * share one session (two processes would prepare the same name).
 */
export function preparedQuery<Result = any>(
  client: Pick<QueryClientContract, 'rawQuery'>,
  text: string,
  bindings: unknown[] = []
): Promise<Result> {
  const query = client.rawQuery(text, bindings as any)
  if (!embedded) {
    let name = names.get(text)
    if (!name)
      names.set(
        text,
        (name = `agora_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`)
      )
    query.knexQuery.options({ name })
  }
  return query as unknown as Promise<Result>
}

/**
 * How many rows of `table` were created in each ISO week (Monday, UTC) since `since`, as a map
 * from the week's first day (YYYY-MM-DD). The owning module names its table.
 */
export async function weeklyCreated(
  client: Pick<QueryClientContract, 'rawQuery'>,
  table: string,
  since: Date
): Promise<Map<string, number>> {
  if (!/^[a-z_]+$/.test(table)) throw new Error(`not a table name: ${table}`)
  const { rows } = await client.rawQuery(
    `SELECT to_char(date_trunc('week', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS week,
            count(*)::int AS n
       FROM ${table} WHERE created_at >= ? GROUP BY 1`,
    [since]
  )
  return new Map(rows.map((row: { week: string; n: number }) => [row.week, row.n]))
}
