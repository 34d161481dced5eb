import { formatCredits, InvalidInputException, isUuid, parseCredits } from '#core'
import { creditPacks } from '#config/credits'
import type { Plan } from '#credits/services/plans'
import type { Purchase } from '#credits/actions/purchases'
import type { Budget } from '#credits/services/budgets'
import type { BudgetsInput } from '#credits/actions/set_budgets'

/** A price as JSON: the amount as a decimal string in its currency. */
const price = (cents: number) => (cents / 100).toFixed(2)

export function planJson(plan: Plan) {
  return {
    slug: plan.id,
    name: plan.name,
    monthly_credits: formatCredits(plan.monthlyAllowance),
    price: price(plan.priceCents),
    currency: 'usd',
    max_members: plan.maxMembers,
  }
}

export function packsJson() {
  return creditPacks.map((pack) => ({
    id: pack.id,
    name: pack.name,
    credits: formatCredits(parseCredits(pack.credits)!),
    price: price(pack.priceCents),
    currency: 'usd',
  }))
}

export function purchaseJson(purchase: Purchase) {
  return {
    id: purchase.id,
    status: purchase.status,
    pack: purchase.pack,
    plan: purchase.planId,
    credits: formatCredits(purchase.credits),
    price: price(purchase.priceCents),
    currency: purchase.currency,
    provider: purchase.provider,
    checkout_url: purchase.status === 'pending' ? purchase.checkoutUrl : null,
    ledger_entry_id: purchase.ledgerEntryId,
    created_at: purchase.createdAt.toISOString(),
    resolved_at: purchase.resolvedAt?.toISOString() ?? null,
  }
}

export function budgetsJson(budgets: Budget[], lowBalance: bigint | null) {
  const of = (scope: Budget['scope']) =>
    Object.fromEntries(
      budgets.filter((b) => b.scope === scope).map((b) => [b.subjectId, formatCredits(b.limit)])
    )
  return {
    members: of('member'),
    agents: of('agent'),
    low_balance: lowBalance === null ? null : formatCredits(lowBalance),
  }
}

/** PUT /budgets's body → BudgetsInput; a bad field is a 422 naming it. */
export function budgetsInput(body: Record<string, unknown>): BudgetsInput {
  const limits = (field: 'members' | 'agents') => {
    const value = body[field] ?? {}
    if (typeof value !== 'object' || Array.isArray(value) || value === null)
      throw new InvalidInputException(field, `${field} must be an object of id → credits.`)
    const entries = Object.entries(value as Record<string, unknown>)
    if (entries.length > 1000) throw new InvalidInputException(field, 'At most 1000 budgets.')
    const out: Record<string, bigint> = {}
    for (const [id, credits] of entries) {
      if (!isUuid(id))
        throw new InvalidInputException(`${field}.${String(id).slice(0, 60)}`, 'is not an id.')
      const micros = parseCredits(credits)
      if (micros === null || micros <= 0n)
        throw new InvalidInputException(`${field}.${id}`, 'must be a positive amount of credits.')
      out[id] = micros
    }
    return out
  }
  const input: BudgetsInput = { members: limits('members'), agents: limits('agents') }
  if ('low_balance' in body) {
    if (body.low_balance === null || body.low_balance === '') input.lowBalance = null
    else {
      const micros = parseCredits(body.low_balance)
      if (micros === null || micros <= 0n)
        throw new InvalidInputException(
          'low_balance',
          'low_balance must be a positive amount of credits or null.'
        )
      input.lowBalance = micros
    }
  }
  return input
}
