import { moneyWrite, recordMoney, type MoneyInput } from '#credits/actions/record_money'
import type { EntryResult } from '#credits/types'

export type GrantInput = MoneyInput

/** Adds credits to a tenant (a `grant` entry, audited). A reused key returns the first entry. */
export async function grantCredits(input: GrantInput): Promise<EntryResult> {
  return recordMoney(moneyWrite('grant', input, 'positive'))
}
