import db from '@adonisjs/lucid/services/db'
import type { DatabaseQueryBuilderContract } from '@adonisjs/lucid/types/querybuilder'

export type KeysetOptions = {
  /** Columns ordering the rows that, together, identify one (default `id`); never null. */
  key?: string[]
  /**
   * The one key column is a bucket shared by several rows (an hour of a rollup): a page that
   * ends inside a bucket is completed with the whole bucket, ordered by `within`.
   */
  grouped?: boolean
  within?: string[]
  pageSize?: number
}

type Row = Record<string, unknown>

/**
 * A query's rows, page by page in key order: constant memory, each page a range scan. `query`
 * builds the query afresh (with its columns selected explicitly) for every page. Key values go
 * back to SQL as text so timestamps keep their microseconds.
 */
export async function* keysetRows(
  query: () => DatabaseQueryBuilderContract<Row>,
  options: KeysetOptions = {}
): AsyncGenerator<Row> {
  const key = options.key ?? ['id']
  const size = options.pageSize ?? 500
  const aliases = key.map((_, i) => `__key${i}`)
  const strip = (row: Row) => {
    const copy = { ...row }
    for (const alias of aliases) delete copy[alias]
    return copy
  }
  let after: string[] | null = null
  for (;;) {
    const page = query()
    for (const [i, column] of key.entries())
      page.select(db.raw('??::text as ??', [column, aliases[i]]))
    if (after) {
      const marks = key.map(() => '??').join(', ')
      page.whereRaw(`(${marks}) > (${key.map(() => '?').join(', ')})`, [...key, ...after])
    }
    for (const column of key) page.orderBy(column)
    const rows: Row[] = await page.limit(size)
    const full = rows.length === size
    const lastKey = full ? aliases.map((alias) => String(rows.at(-1)![alias])) : null
    if (!options.grouped || !lastKey) {
      yield* rows.map(strip)
    } else {
      // The last bucket may go on past this page: hold its rows back and read it whole.
      for (const row of rows) if (row[aliases[0]] !== lastKey[0]) yield strip(row)
      const bucket = query().where(key[0], lastKey[0])
      for (const column of options.within ?? []) bucket.orderBy(column)
      yield* (await bucket) as Row[]
    }
    if (!lastKey) return
    after = lastKey
  }
}
