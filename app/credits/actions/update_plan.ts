import db from '@adonisjs/lucid/services/db'
import { formatCredits, InvalidInputException } from '#core'
import { recordAudit } from '#platform'
import { findPlan } from '#credits/services/plans'

/**
 * A platform admin edits a plan: name, monthly allowance, price and member limit. Allowances
 * already granted stay; the next period's grant uses the new allowance. Audited with old and new.
 */
export async function updatePlan(
  planId: string,
  input: { name: string; monthlyAllowance: bigint; priceCents: number; maxMembers: number | null },
  actor: { actorId: string }
) {
  const plan = await findPlan(planId)
  if (!plan) return null
  const name = input.name.trim()
  if (!name || name.length > 80)
    throw new InvalidInputException('name', 'A name of 1 to 80 characters.')
  if (input.monthlyAllowance < 0n || input.monthlyAllowance > 10n ** 15n)
    throw new InvalidInputException('monthly_credits', 'Monthly credits from 0 to 1,000,000,000.')
  if (!Number.isInteger(input.priceCents) || input.priceCents < 0 || input.priceCents > 100_000_000)
    throw new InvalidInputException('price', 'A price in dollars, e.g. 19.00.')
  if (input.maxMembers !== null && (!Number.isInteger(input.maxMembers) || input.maxMembers < 1))
    throw new InvalidInputException('max_members', 'Empty (no limit) or a whole number from 1.')
  await db.transaction(async (trx) => {
    await trx.from('plans').where('id', planId).update({
      name,
      monthly_allowance_micros: input.monthlyAllowance.toString(),
      price_cents: input.priceCents,
      max_members: input.maxMembers,
    })
    await recordAudit(
      {
        action: 'credits.plan.updated',
        actorId: actor.actorId,
        subjectType: 'plan',
        subjectId: planId,
        changes: {
          name: [plan.name, name],
          monthly_credits: [
            formatCredits(plan.monthlyAllowance),
            formatCredits(input.monthlyAllowance),
          ],
          price_cents: [plan.priceCents, input.priceCents],
          max_members: [plan.maxMembers, input.maxMembers],
        },
      },
      trx
    )
  })
  return findPlan(planId)
}
