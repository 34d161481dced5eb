import { formatCredits } from '#core'
import type { LedgerEntry } from '#credits/types'

export const LEDGER_CSV_COLUMNS = [
  'id',
  'created_at',
  'kind',
  'amount',
  'balance_after',
  'reference',
  'member_id',
  'agent_id',
  'hold_id',
]

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break, quotes doubled.
 * Free text that a spreadsheet would run as a formula (=, +, -, @ first) is prefixed with '.
 */
export function csvField(value: unknown, freeText = false): string {
  let text = value === null || value === undefined ? '' : String(value)
  if (freeText && /^[=+\-@\t\r]/.test(text)) text = `'${text}`
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

export function ledgerCsvRow(entry: LedgerEntry): string {
  return (
    [
      csvField(entry.id),
      csvField(entry.createdAt),
      csvField(entry.kind),
      csvField(formatCredits(entry.amount)),
      csvField(formatCredits(entry.balanceAfter)),
      csvField(entry.reference, true),
      csvField(entry.memberId),
      csvField(entry.agentId),
      csvField(entry.holdId),
    ].join(',') + '\r\n'
  )
}
