import { csvField, formatCredits } from '#core'
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
