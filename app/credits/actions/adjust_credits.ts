import { moneyWrite, recordMoney, type MoneyInput } from '#credits/actions/record_money'
import type { EntryResult } from '#credits/types'

/** `amount` is signed: positive adds, negative removes (402 if available would go below 0). */
export type AdjustInput = MoneyInput

/** Corrects a tenant's balance with an `adjustment` entry (audited); the ledger is never rewritten. */
export async function adjustCredits(input: AdjustInput): Promise<EntryResult> {
  return recordMoney(moneyWrite('adjustment', input, 'non-zero'))
}
