import { Exception } from '@adonisjs/core/exceptions'
import type { HttpContext } from '@adonisjs/core/http'

/** 422 for bad paging parameters, with the field named. */
export class PaginationException extends Exception {
  static status = 422
  static code = 'E_VALIDATION_ERROR'
  constructor(
    public field: string,
    message: string
  ) {
    super(message, { status: 422, code: 'E_VALIDATION_ERROR' })
  }
  get messages() {
    return [{ field: this.field, message: this.message }]
  }
}

export type Cursor = { at: string; id: string }

/** `?limit=` (default 20, 1–100) and the opaque `?cursor=` (keyset on created_at, id). */
export function pageParams(ctx: HttpContext): { limit: number; cursor: Cursor | null } {
  const rawLimit = ctx.request.input('limit')
  const limit = rawLimit === undefined || rawLimit === '' ? 20 : Number(rawLimit)
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new PaginationException('limit', 'limit must be an integer from 1 to 100.')
  const rawCursor = ctx.request.input('cursor')
  if (rawCursor === undefined || rawCursor === '') return { limit, cursor: null }
  try {
    const parsed = JSON.parse(Buffer.from(String(rawCursor), 'base64url').toString('utf8'))
    if (typeof parsed?.at === 'string' && typeof parsed?.id === 'string' && !Number.isNaN(Date.parse(parsed.at))) return { limit, cursor: parsed }
  } catch {}
  throw new PaginationException('cursor', 'cursor is not valid.')
}

export function encodeCursor(at: Date | string, id: string) {
  return Buffer.from(JSON.stringify({ at: new Date(at).toISOString(), id })).toString('base64url')
}

/**
 * Applies keyset paging (newest first) to a query on `<table>.created_at, <table>.id` and
 * returns `{data, next_cursor}` (one extra row fetched to know whether a next page exists).
 */
export async function keysetPage<Row extends { created_at?: any; createdAt?: any; id: string }>(
  query: any,
  table: string,
  params: { limit: number; cursor: Cursor | null }
): Promise<{ rows: Row[]; next_cursor: string | null }> {
  if (params.cursor) {
    query.whereRaw(`(${table}.created_at, ${table}.id) < (?, ?)`, [params.cursor.at, params.cursor.id])
  }
  const rows: Row[] = await query.orderBy(`${table}.created_at`, 'desc').orderBy(`${table}.id`, 'desc').limit(params.limit + 1)
  const more = rows.length > params.limit
  const page = more ? rows.slice(0, params.limit) : rows
  const last = page.at(-1) as any
  return { rows: page, next_cursor: more && last ? encodeCursor(last.created_at ?? last.createdAt?.toISO?.() ?? last.createdAt, last.id) : null }
}
