import vine from '@vinejs/vine'
import { DateTime } from 'luxon'
import { boundedDay, isUuid } from '#core'
import { userIdByEmail } from '#auth'
import { Membership } from '#tenants'
import { LEDGER_KINDS } from '#credits/types'
import type { LedgerFilters } from '#credits/services/ledger_query'

/** Ledger filters from a query string (pages, CSV export and the API share them). */
export const ledgerFiltersValidator = vine.create({
  kind: vine.enum(LEDGER_KINDS).optional(),
  from: boundedDay().optional(),
  to: boundedDay().optional(),
  /** A member's user id, or their email address (resolved by resolveMemberFilter). */
  member: vine.string().trim().maxLength(254).optional(),
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

/** Matches no member: an email that is not a member's filters to nothing, never to everyone. */
const NOBODY = '00000000-0000-0000-0000-000000000000'

/**
 * The `member` filter as a user id: an id as given, an email address looked up among the
 * tenant's members (one query, only when filtering by email); anything else is reported.
 */
export async function resolveMemberFilter(
  tenantId: string,
  input: LedgerFilterInput
): Promise<{ input: LedgerFilterInput; error: string | null }> {
  const member: string = input.member ?? ''
  if (!member || isUuid(input.member)) return { input, error: null }
  if (!member.includes('@'))
    return { input: { ...input, member: NOBODY }, error: "Enter a member's email address." }
  const found = await userIdByEmail(
    member,
    Membership.query().where('memberships.tenant_id', tenantId).select('memberships.user_id')
  )
  return found
    ? { input: { ...input, member: found }, error: null }
    : { input: { ...input, member: NOBODY }, error: `No member with the email ${member}.` }
}
