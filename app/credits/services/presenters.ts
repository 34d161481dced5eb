import type { HttpContext } from '@adonisjs/core/http'
import { DateTime } from 'luxon'
import vine from '@vinejs/vine'
import type { Infer } from '@vinejs/vine/types'
import { creditsSchema, dateTimeSchema, formatCredits, isUuid, pageParams, urlFor } from '#core'
import { memberNames, type Tenant } from '#tenants'
import { balanceAndSpend, listLedger } from '#credits/services/ledger_query'
import {
  filterParams,
  ledgerFiltersValidator,
  resolveMemberFilter,
  toLedgerFilters,
  type LedgerFilterInput,
} from '#credits/validators/ledger'
import { LEDGER_KINDS, type Balance, type LedgerEntry } from '#credits/types'

const PAGE_SIZE = 50

/** The API's shape of a balance (OpenAPI `CreditBalance`). */
export const balanceSchema = vine.object({
  balance: creditsSchema(),
  held: creditsSchema('Reserved by running work'),
  available: creditsSchema('balance − held'),
  currency: vine.literal('credits'),
})

/** The API's shape of a ledger entry (OpenAPI `LedgerEntry`). */
export const ledgerEntrySchema = vine.object({
  id: vine.string(),
  kind: vine.enum(LEDGER_KINDS),
  amount: creditsSchema('Signed: money in is positive, spend negative'),
  balance_after: creditsSchema(),
  reference: vine.string().nullable(),
  member_id: vine.string().nullable(),
  agent_id: vine.string().nullable(),
  created_at: dateTimeSchema(),
})

/** The API's shape of a balance: decimal credit strings. */
export function balanceJson(balance: Balance): Infer<typeof balanceSchema> {
  return {
    balance: formatCredits(balance.balance),
    held: formatCredits(balance.held),
    available: formatCredits(balance.available),
    currency: 'credits',
  }
}

/** The API's shape of a ledger entry. */
export function entryJson(entry: LedgerEntry): Infer<typeof ledgerEntrySchema> {
  return {
    id: entry.id,
    kind: entry.kind,
    amount: formatCredits(entry.amount),
    balance_after: formatCredits(entry.balanceAfter),
    reference: entry.reference,
    member_id: entry.memberId,
    agent_id: entry.agentId,
    created_at: entry.createdAt,
  }
}

/** The balance widget's state: available, held and this month's spend in the tenant's time zone. */
export async function balanceWidget(tenant: Tenant) {
  const now = DateTime.now().setZone(tenant.timeZone)
  const monthStart = now.startOf('month')
  const balance = await balanceAndSpend(tenant.id, [
    monthStart.toJSDate(),
    now.minus({ days: 7 }).toJSDate(),
  ])
  const [spend, lastWeek] = balance.spend
  return {
    forecast: forecastOf(balance.available, lastWeek),
    tenant,
    balance: formatCredits(balance.balance),
    held: formatCredits(balance.held),
    available: formatCredits(balance.available),
    monthSpend: formatCredits(spend),
    monthLabel: monthStart.toFormat('LLLL yyyy'),
    refreshedAt: DateTime.now().setZone(tenant.timeZone).toFormat('HH:mm:ss'),
  }
}

/**
 * Days the available credits last at the last 7 days' average burn: null when nothing was spent
 * (no burn, no forecast), "0" when nothing is available.
 */
export function forecastOf(available: bigint, spentLastWeek: bigint) {
  if (spentLastWeek <= 0n) return null
  const days = Number((available * 7n * 10n) / spentLastWeek) / 10
  return {
    days: days >= 1000 ? '1000+' : days < 1 ? days.toFixed(1) : String(Math.floor(days)),
    perDay: formatCredits(spentLastWeek / 7n),
  }
}

/**
 * The ledger section's state from the query string. Invalid filters are reported next to their
 * fields and ignored (a page never fails on a bad link); a stale cursor restarts at the newest.
 */
export async function ledgerSection(ctx: HttpContext, tenant: Tenant) {
  const qs = ctx.request.qs()
  const [invalid, valid] = await ledgerFiltersValidator.tryValidate(filterParams(qs))
  const given: LedgerFilterInput = valid ?? {}
  const errors: Record<string, string[]> = Object.fromEntries(
    ((invalid?.messages ?? []) as { field: string; message: string }[]).map((m) => [
      m.field,
      [m.message],
    ])
  )
  const resolved = await resolveMemberFilter(tenant.id, given)
  if (resolved.error) errors.member = [resolved.error]
  const { cursor } = pageParams(ctx, { forgiving: true })
  const page = await listLedger(tenant.id, {
    limit: PAGE_SIZE,
    cursor,
    filters: toLedgerFilters(resolved.input, tenant.timeZone),
  })
  // Names of the members on this page only (and of the filtered one), through the tenants'
  // door: never the whole tenant, and a foreign id in the URL names nobody.
  const ids = page.entries.map((entry) => entry.memberId).filter((id) => id !== null)
  if (given.member && isUuid(given.member)) ids.push(given.member)
  const people = await memberNames(tenant.id, ids)
  const names = new Map([...people].map(([id, person]) => [id, person.name]))
  // A drill-down link's member id shows as their email.
  const filteredBy = given.member && isUuid(given.member) ? people.get(given.member) : undefined
  const input = given
  const ledgerUrl = (extra: Record<string, string> = {}) =>
    urlFor('credits.credits.show', { tenant: tenant.slug }, { qs: { ...input, ...extra } })
  const filtered = Object.keys(input).length > 0
  return {
    tenant,
    filters: {
      kind: input.kind ?? '',
      from: input.from ?? '',
      to: input.to ?? '',
      // An id from a drill-down link shows as the member's email.
      member: filteredBy?.email ?? given.member ?? '',
      agent: input.agent ?? '',
    },
    filtered,
    errors,
    kinds: LEDGER_KINDS,
    memberOptionsUrl: urlFor('tenants.member_options.index', { tenant: tenant.slug }),
    rows: page.entries.map((entry) => ({
      id: entry.id,
      at: DateTime.fromISO(entry.createdAt)
        .setZone(tenant.timeZone)
        .toFormat('yyyy-LL-dd HH:mm:ss'),
      kind: entry.kind,
      amount: formatCredits(entry.amount),
      balanceAfter: formatCredits(entry.balanceAfter),
      reference: entry.reference ?? '',
      member: entry.memberId ? (names.get(entry.memberId) ?? 'former member') : '',
      agent: entry.agentId ? entry.agentId.slice(0, 8) : '',
      agentId: entry.agentId ?? '',
    })),
    firstUrl: cursor ? ledgerUrl() : null,
    nextUrl: page.nextCursor ? ledgerUrl({ cursor: page.nextCursor }) : null,
    csvUrl: urlFor('credits.ledger_exports.show', { tenant: tenant.slug }, { qs: input }),
    timeZone: tenant.timeZone,
  }
}
