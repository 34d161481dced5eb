import { Tenant, withTenant } from '#tenants'
import { formatCredits } from '#core'
import { recordAudit } from '#platform'
import { appendEntry, entryByKey, lockAccount, sql } from '#credits/services/accounts'
import { periodAt } from '#credits/services/periods'
import { listPlans, type Plan } from '#credits/services/plans'
import type { LedgerEntry } from '#credits/types'

export type AllowanceGrant = {
  tenantId: string
  tenantSlug: string
  period: string
  planId: string
  entry: LedgerEntry
}

/**
 * Grants every plan allowance due at `at`: for each active tenant, the allowance of the month
 * containing `at` in the tenant's time zone, once per tenant and period. A plan change that
 * takes effect at or before that month's start is applied first, in the same transaction. The
 * ledger's idempotency key `allowance:<YYYY-MM>` (unique per tenant, checked under the account
 * lock) makes a second run — late, repeated or on another process at once — grant nothing.
 * Only the current period is granted: a month the command never ran in is not back-filled.
 */
export async function grantAllowances(at: Date = new Date()): Promise<AllowanceGrant[]> {
  const grants: AllowanceGrant[] = []
  // Reference data, read once and outside the tenant transactions (the app role cannot read it).
  const plans = new Map((await listPlans()).map((plan) => [plan.id, plan]))
  let after = ''
  for (;;) {
    const tenants = await Tenant.query()
      .whereNull('suspendedAt')
      .where('id', '>', after || '00000000-0000-0000-0000-000000000000')
      .orderBy('id')
      .limit(200)
    if (!tenants.length) return grants
    for (const tenant of tenants) {
      const grant = await grantAllowance(tenant, at, plans)
      if (grant) grants.push(grant)
    }
    after = tenants.at(-1)!.id
  }
}

async function grantAllowance(
  tenant: Tenant,
  at: Date,
  plans: Map<string, Plan>
): Promise<AllowanceGrant | null> {
  const period = periodAt(at, tenant.timeZone)
  const key = `allowance:${period.key}`
  return withTenant(tenant.id, async (trx) => {
    const account = await lockAccount(trx, tenant.id)
    if (await entryByKey(trx, tenant.id, key)) return null
    let planId = tenant.planId
    const due = await sql(
      trx,
      `DELETE FROM plan_changes WHERE tenant_id = ? AND effective_from <= ?::date RETURNING plan_id`,
      [tenant.id, period.firstDay]
    )
    if (due.rows.length) {
      planId = due.rows[0].plan_id
      const row = await Tenant.query({ client: trx }).where('id', tenant.id).firstOrFail()
      const from = row.planId
      row.planId = planId
      await row.useTransaction(trx).save()
      await recordAudit(
        {
          action: 'credits.plan.changed',
          actorLabel: 'allowance',
          tenantId: tenant.id,
          subjectType: 'tenant',
          subjectId: tenant.id,
          changes: { from, to: planId, period: period.key },
        },
        trx
      )
    }
    const plan = plans.get(planId)
    if (!plan || plan.monthlyAllowance <= 0n) return null
    const entry = await appendEntry(
      trx,
      { ...account, tenantId: tenant.id },
      {
        kind: 'allowance',
        amount: plan.monthlyAllowance,
        reference: `${plan.name} plan allowance for ${period.key}`,
        idempotencyKey: key,
      }
    )
    await recordAudit(
      {
        action: 'credits.allowance.created',
        actorLabel: 'allowance',
        tenantId: tenant.id,
        subjectType: 'ledger_entry',
        subjectId: entry.id,
        changes: { amount: formatCredits(entry.amount), plan: plan.id, period: period.key },
      },
      trx
    )
    return { tenantId: tenant.id, tenantSlug: tenant.slug, period: period.key, planId, entry }
  })
}
