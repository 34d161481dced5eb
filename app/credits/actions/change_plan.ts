import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import { Tenant, withTenant } from '#tenants'
import { recordAudit } from '#platform'
import { CreditsInputException } from '#credits/errors'
import { sql } from '#credits/services/accounts'
import { periodAt } from '#credits/services/periods'
import { findPlan, type Plan, type PlanChange } from '#credits/services/plans'

/**
 * Schedules a tenant's plan change for the start of its next period (nothing is prorated; the
 * next allowance is the new plan's). Choosing the current plan cancels a scheduled change.
 * Returns the change now scheduled, or null when none is.
 */
export async function changePlan(input: {
  tenantId: string
  planId: string
  actorId?: string | null
  actorLabel?: string | null
  at?: Date
}): Promise<PlanChange | null> {
  const plan = await findPlan(input.planId)
  if (!plan) throw new CreditsInputException(`no plan "${input.planId}"`)
  return withTenant(input.tenantId, (trx) => schedulePlanChange(trx, plan, input))
}

/** changePlan inside the caller's tenant transaction (a paid plan purchase schedules it with the payment). */
export async function schedulePlanChange(
  trx: TransactionClientContract,
  plan: Plan,
  input: Omit<Parameters<typeof changePlan>[0], 'planId'>
): Promise<PlanChange | null> {
  const tenant = await Tenant.query({ client: trx })
    .where('id', input.tenantId)
    .forUpdate()
    .firstOrFail()
  const audit = (action: string, changes: Record<string, unknown>) =>
    recordAudit(
      {
        action,
        actorId: input.actorId ?? null,
        actorLabel: input.actorLabel ?? null,
        tenantId: tenant.id,
        subjectType: 'tenant',
        subjectId: tenant.id,
        changes,
      },
      trx
    )
  if (plan.id === tenant.planId) {
    const removed = await sql(
      trx,
      'DELETE FROM plan_changes WHERE tenant_id = ? RETURNING plan_id',
      [tenant.id]
    )
    if (removed.rows.length)
      await audit('credits.plan_change.cancelled', { plan: removed.rows[0].plan_id })
    return null
  }
  const effectiveFrom = periodAt(input.at ?? new Date(), tenant.timeZone).end.toISODate()!
  await sql(
    trx,
    `INSERT INTO plan_changes (tenant_id, plan_id, effective_from, requested_by) VALUES (?, ?, ?, ?)
     ON CONFLICT (tenant_id) DO UPDATE
       SET plan_id = EXCLUDED.plan_id, effective_from = EXCLUDED.effective_from,
           requested_by = EXCLUDED.requested_by, created_at = now()`,
    [tenant.id, plan.id, effectiveFrom, input.actorId ?? null]
  )
  await audit('credits.plan_change.scheduled', {
    from: tenant.planId,
    to: plan.id,
    effective_from: effectiveFrom,
  })
  return { planId: plan.id, effectiveFrom }
}
