import db from '@adonisjs/lucid/services/db'
import { encodeCursor, type Cursor } from '#core'
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

function filtered(tenantId: string, filters: LedgerFilters, cursor: Cursor | null) {
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
  options: { limit: number; cursor?: Cursor | null; filters?: LedgerFilters }
) {
  const rows = await filtered(tenantId, options.filters ?? {}, options.cursor ?? null).limit(
    options.limit + 1
  )
  const entries: LedgerEntry[] = rows.slice(0, options.limit).map(toEntry)
  const nextCursor =
    rows.length > options.limit ? encodeCursor(entries.at(-1)!.createdAt, entries.at(-1)!.id) : null
  return { entries, nextCursor }
}

/** Every matching entry, newest first, fetched in keyset pages (for exports of any size). */
export async function* ledgerEntries(
  tenantId: string,
  filters: LedgerFilters = {},
  pageSize = 1000
): AsyncGenerator<LedgerEntry> {
  let cursor: Cursor | null = null
  for (;;) {
    const page = await listLedger(tenantId, { limit: pageSize, cursor, filters })
    yield* page.entries
    const last = page.entries.at(-1)
    if (!page.nextCursor || !last) return
    cursor = { at: last.createdAt, id: last.id }
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
