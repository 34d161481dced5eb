import vine from '@vinejs/vine'
import { DateTime } from 'luxon'
import { boundedDay } from '#core'
import { LEDGER_KINDS } from '#credits/types'
import type { LedgerFilters } from '#credits/services/ledger_query'

/** Ledger filters from a query string (pages, CSV export and the API share them). */
export const ledgerFiltersValidator = vine.create({
  kind: vine.enum(LEDGER_KINDS).optional(),
  from: boundedDay().optional(),
  to: boundedDay().optional(),
  member: vine.string().trim().uuid().optional(),
  agent: vine.string().trim().uuid().optional(),
})

export type LedgerFilterInput = {
  kind?: string
  from?: string
  to?: string
  member?: string
  agent?: string
}

/** Empty form fields mean "any": they are dropped before validation. */
export function filterParams(qs: Record<string, unknown>): Record<string, unknown> {
  const keys = ['kind', 'from', 'to', 'member', 'agent']
  return Object.fromEntries(
    keys.filter((key) => qs[key] !== undefined && qs[key] !== '').map((key) => [key, qs[key]])
  )
}

/** Days are calendar days in the tenant's time zone; `to` includes its whole day. */
export function toLedgerFilters(input: LedgerFilterInput, timeZone: string): LedgerFilters {
  const startOf = (text: string) => DateTime.fromISO(text, { zone: timeZone }).startOf('day')
  return {
    kind: (input.kind as LedgerFilters['kind']) ?? null,
    from: input.from ? startOf(input.from).toJSDate() : null,
    to: input.to ? startOf(input.to).plus({ days: 1 }).toJSDate() : null,
    memberId: input.member ?? null,
    agentId: input.agent ?? null,
  }
}
