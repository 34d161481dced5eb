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
  if (cursor)
    query.whereRaw('(ledger_entries.created_at, ledger_entries.id) < (?::timestamptz, ?::uuid)', [
      cursor.at,
      cursor.id,
    ])
  // Qualified: a bare `created_at` in ORDER BY names the selected text column of that name,
  // which no index serves (every page sorted the whole ledger).
  return query
    .select(db.raw(ENTRY_COLUMNS))
    .orderBy('ledger_entries.created_at', 'desc')
    .orderBy('ledger_entries.id', 'desc')
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
  pageSize = 250
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

const SPEND_SINCE = `(SELECT COALESCE(-SUM(amount), 0) FROM ledger_entries
   WHERE tenant_id = ? AND kind IN ('charge', 'refund') AND created_at >= ?)`

/**
 * The balance, the amount held and the net spend since each of `since`, in one statement (the
 * balance widget is on every credits page and polls).
 */
export async function balanceAndSpend(tenantId: string, since: Date[]) {
  const { rows } = await db.rawQuery(
    `SELECT (SELECT balance FROM credit_accounts WHERE tenant_id = ?) AS balance,
            (SELECT held FROM credit_accounts WHERE tenant_id = ?) AS held
            ${since.map((_, i) => `, ${SPEND_SINCE} AS spend_${i}`).join('')}`,
    [tenantId, tenantId, ...since.flatMap((at) => [tenantId, at])]
  )
  const row = rows[0]
  const balance = BigInt(row.balance ?? 0)
  const held = BigInt(row.held ?? 0)
  return {
    balance,
    held,
    available: balance - held,
    spend: since.map((_, i) => BigInt(row[`spend_${i}`] ?? 0)),
  }
}
