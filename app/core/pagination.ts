import type { HttpContext } from '@adonisjs/core/http'
import db from '@adonisjs/lucid/services/db'
import { DateTime } from 'luxon'
import { InvalidInputException } from '#core/exceptions'
import { isUuid } from '#core/ids'
import { MAX_YEAR, MIN_YEAR } from '#core/input'

export type Cursor = { at: string; id: string }

/** Page sizes a list takes (CONTRACT.md). */
export const PAGE_SIZE = { default: 20, max: 100 } as const

/** The query string pageParams reads, as JSON Schema (OpenAPI parameters). */
export const PAGE_QUERY = {
  type: 'object',
  properties: {
    limit: {
      type: 'integer',
      minimum: 1,
      maximum: PAGE_SIZE.max,
      default: PAGE_SIZE.default,
      description: 'Page size',
    },
    cursor: { type: 'string', description: 'Opaque: `next_cursor` of the previous page' },
  },
}

/**
 * `?limit=` (default 20, 1–100) and the opaque `?cursor=` (keyset on created_at, id). Bad input
 * is a 422 naming the field; `forgiving` (HTML lists) reads it as the first page instead, so a
 * hand-edited address still shows a list.
 */
export function pageParams(
  ctx: HttpContext,
  options: { forgiving?: boolean } = {}
): { limit: number; cursor: Cursor | null } {
  const rawLimit = ctx.request.input('limit')
  const rawCursor = ctx.request.input('cursor')
  const limit = rawLimit === undefined || rawLimit === '' ? PAGE_SIZE.default : Number(rawLimit)
  const cursor = rawCursor === undefined || rawCursor === '' ? null : decodeCursor(rawCursor)
  const limitOk = Number.isInteger(limit) && limit >= 1 && limit <= PAGE_SIZE.max
  const cursorOk = cursor !== null || rawCursor === undefined || rawCursor === ''
  if (options.forgiving && !(limitOk && cursorOk)) return { limit: PAGE_SIZE.default, cursor: null }
  if (!limitOk)
    throw new InvalidInputException('limit', `limit must be an integer from 1 to ${PAGE_SIZE.max}.`)
  if (!cursorOk) throw new InvalidInputException('cursor', 'cursor is not valid.')
  return { limit, cursor }
}

/**
 * A UTC instant. encodeCursor writes microseconds (what PostgreSQL stores, so no row is skipped
 * by rounding); shorter fractions still decode, as positions (cursors issued before).
 */
const CURSOR_AT = /^(\d{4})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z$/
const EXACT_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/

/** SQL giving `created_at` as a cursor's exact UTC text. */
export const EXACT_CREATED_AT = `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`

/**
 * A cursor as encodeCursor made it, or null: the id a UUID and the instant an exact ISO
 * timestamp in a sane year, so a forged cursor is a 422 and never reaches SQL.
 */
export function decodeCursor(raw: unknown): Cursor | null {
  if (typeof raw !== 'string' || raw.length > 200) return null
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'))
  } catch {
    return null
  }
  const { at, id } = (parsed ?? {}) as Record<string, unknown>
  if (typeof at !== 'string' || !isUuid(id)) return null
  const match = CURSOR_AT.exec(at)
  // Luxon, not Date.parse: V8 takes 2026-02-30 for 2 March, which PostgreSQL refuses.
  if (!match || !DateTime.fromISO(at, { zone: 'utc' }).isValid) return null
  const year = Number(match[1])
  return year >= MIN_YEAR && year <= MAX_YEAR ? { at, id } : null
}

/** The opaque cursor of a row: its exact created_at text (EXACT_CREATED_AT) and its id. */
export function encodeCursor(at: string, id: string) {
  if (!EXACT_AT.test(at)) throw new Error(`not an exact cursor time: ${at}`)
  return Buffer.from(JSON.stringify({ at, id })).toString('base64url')
}

const CURSOR_COLUMN = 'keyset_cursor_at'

/**
 * Applies keyset paging (newest first) to a query on `<table>.created_at, <table>.id` and
 * returns `{data, next_cursor}` (one extra row fetched to know whether a next page exists). The
 * cursor's exact instant comes with the rows (models carry only milliseconds): one statement.
 */
export async function keysetPage<Row extends { id: string }>(
  query: any,
  table: string,
  params: { limit: number; cursor: Cursor | null }
): Promise<{ rows: Row[]; next_cursor: string | null }> {
  if (params.cursor) {
    query.whereRaw(`(${table}.created_at, ${table}.id) < (?, ?)`, [
      params.cursor.at,
      params.cursor.id,
    ])
  }
  // A query without a select list selects the table's columns; the cursor column is added.
  const selects = (query.knexQuery ?? query).toSQL().sql.startsWith('select *')
  if (selects) query.select(`${table}.*`)
  query.select(
    db.raw(`${EXACT_CREATED_AT.replace('created_at', `${table}.created_at`)} AS ${CURSOR_COLUMN}`)
  )
  const rows: Row[] = await query
    .orderBy(`${table}.created_at`, 'desc')
    .orderBy(`${table}.id`, 'desc')
    .limit(params.limit + 1)
  const cursorAt = (row: any): string => {
    const bag = row.$extras ?? row
    const at = bag[CURSOR_COLUMN]
    delete bag[CURSOR_COLUMN]
    return at
  }
  const ats = rows.map(cursorAt)
  const more = rows.length > params.limit
  const page = more ? rows.slice(0, params.limit) : rows
  if (!more) return { rows: page, next_cursor: null }
  return { rows: page, next_cursor: encodeCursor(ats[page.length - 1], page.at(-1)!.id) }
}
