import db from '@adonisjs/lucid/services/db'
import { isUuid } from '#core'
import { ENTRY_COLUMNS, toEntry } from '#credits/services/accounts'
import type { LedgerEntry, LedgerKind } from '#credits/types'

export type LedgerFilters = {
  kind?: LedgerKind | null
  /** Inclusive lower bound. */
  from?: Date | null
  /** Exclusive upper bound. */
  to?: Date | null
  memberId?: string | null
  agentId?: string | null
}

/** A keyset position: the exact created_at text (microseconds) and id of the last entry seen. */
export type LedgerCursor = { at: string; id: string }

const EXACT_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/

/** Opaque to clients; the same `{at, id}` shape as the other API lists, with exact time. */
export function encodeLedgerCursor(entry: Pick<LedgerEntry, 'createdAt' | 'id'>) {
  return Buffer.from(JSON.stringify({ at: entry.createdAt, id: entry.id })).toString('base64url')
}

/** The cursor's position, or null when it is not one this module issued. */
export function decodeLedgerCursor(value: unknown): LedgerCursor | null {
  if (typeof value !== 'string' || value.length > 200) return null
  try {
    const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'))
    return typeof parsed?.at === 'string' && EXACT_TIME.test(parsed.at) && isUuid(parsed.id)
      ? { at: parsed.at, id: parsed.id }
      : null
  } catch {
    return null
  }
}

function filtered(tenantId: string, filters: LedgerFilters, cursor: LedgerCursor | null) {
  const query = db.from('ledger_entries').where('tenant_id', tenantId)
  if (filters.kind) query.where('kind', filters.kind)
  if (filters.from) query.where('created_at', '>=', filters.from)
  if (filters.to) query.where('created_at', '<', filters.to)
  if (filters.memberId) query.where('member_id', filters.memberId)
  if (filters.agentId) query.where('agent_id', filters.agentId)
  if (cursor) query.whereRaw('(created_at, id) < (?::timestamptz, ?::uuid)', [cursor.at, cursor.id])
  return query.select(db.raw(ENTRY_COLUMNS)).orderBy('created_at', 'desc').orderBy('id', 'desc')
}

/** One page of a tenant's ledger, newest first, with the cursor of the next page (null on the last). */
export async function listLedger(
  tenantId: string,
  options: { limit: number; cursor?: LedgerCursor | null; filters?: LedgerFilters }
) {
  const rows = await filtered(tenantId, options.filters ?? {}, options.cursor ?? null).limit(
    options.limit + 1
  )
  const entries: LedgerEntry[] = rows.slice(0, options.limit).map(toEntry)
  const nextCursor = rows.length > options.limit ? encodeLedgerCursor(entries.at(-1)!) : null
  return { entries, nextCursor }
}

/** Every matching entry, newest first, fetched in keyset pages (for exports of any size). */
export async function* ledgerEntries(
  tenantId: string,
  filters: LedgerFilters = {},
  pageSize = 1000
): AsyncGenerator<LedgerEntry> {
  let cursor: LedgerCursor | null = null
  for (;;) {
    const page = await listLedger(tenantId, { limit: pageSize, cursor, filters })
    yield* page.entries
    if (!page.nextCursor) return
    cursor = decodeLedgerCursor(page.nextCursor)
  }
}

/** Net spend (charges less refunds) since `since`, in micro-credits. */
export async function spendSince(tenantId: string, since: Date): Promise<bigint> {
  const row = await db
    .from('ledger_entries')
    .where('tenant_id', tenantId)
    .whereIn('kind', ['charge', 'refund'])
    .where('created_at', '>=', since)
    .select(db.raw('COALESCE(-SUM(amount), 0) AS spend'))
    .first()
  return BigInt(row?.spend ?? 0)
}
