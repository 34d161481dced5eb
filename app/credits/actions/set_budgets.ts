import { Membership, withTenant } from '#tenants'
import { formatCredits, InvalidInputException } from '#core'
import { recordAudit } from '#platform'
import { sql } from '#credits/services/accounts'
import { agentNames, listBudgets } from '#credits/services/budgets'
import { forgetAlertConfig } from '#credits/services/alerts'

export type BudgetsInput = {
  members: Record<string, bigint>
  agents: Record<string, bigint>
  /** Undefined keeps the current threshold; null removes it. */
  lowBalance?: bigint | null
}

/**
 * Replaces a tenant's monthly budgets (PUT semantics: subjects left out lose theirs) and
 * optionally its low-balance threshold, in one transaction, audited with what changed. Members
 * must belong to the tenant and agents exist in it: anything else is a 422 naming the field.
 */
export async function setBudgets(
  tenantId: string,
  input: BudgetsInput,
  actor: { actorId?: string | null; actorLabel?: string | null }
) {
  const memberIds = Object.keys(input.members)
  const agentIds = Object.keys(input.agents)
  if (memberIds.length) {
    const found = new Set(
      (
        await Membership.query()
          .where('tenantId', tenantId)
          .whereIn('userId', memberIds)
          .select('userId')
      ).map((m) => m.userId)
    )
    const stranger = memberIds.find((id) => !found.has(id))
    if (stranger)
      throw new InvalidInputException(`members.${stranger}`, 'is not a member of this workspace.')
  }
  const agents = await agentNames(tenantId, agentIds)
  const unknown = agentIds.find((id) => !agents.has(id))
  if (unknown)
    throw new InvalidInputException(`agents.${unknown}`, 'is not an agent of this workspace.')

  await withTenant(tenantId, async (trx) => {
    const before = await listBudgets(tenantId, trx)
    const rows = [
      ...memberIds.map((id) => ['member', id, input.members[id]] as const),
      ...agentIds.map((id) => ['agent', id, input.agents[id]] as const),
    ]
    await sql(trx, 'DELETE FROM credit_budgets WHERE tenant_id = ?', [tenantId])
    if (rows.length)
      await sql(
        trx,
        `INSERT INTO credit_budgets (tenant_id, scope, subject_id, limit_micros)
         SELECT ?, s, id, l FROM unnest(?::text[], ?::uuid[], ?::bigint[]) AS t(s, id, l)`,
        [tenantId, rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2].toString())]
      )
    const changes: Record<string, unknown> = {
      before: Object.fromEntries(
        before.map((b) => [`${b.scope}:${b.subjectId}`, formatCredits(b.limit)])
      ),
      after: Object.fromEntries(rows.map((r) => [`${r[0]}:${r[1]}`, formatCredits(r[2])])),
    }
    if (input.lowBalance !== undefined) {
      await sql(
        trx,
        `INSERT INTO credit_settings (tenant_id, low_balance_micros) VALUES (?, ?)
         ON CONFLICT (tenant_id) DO UPDATE SET low_balance_micros = EXCLUDED.low_balance_micros, updated_at = now()`,
        [tenantId, input.lowBalance?.toString() ?? null]
      )
      changes.low_balance = input.lowBalance === null ? null : formatCredits(input.lowBalance)
    }
    await recordAudit(
      {
        action: 'credits.budgets.updated',
        actorId: actor.actorId ?? null,
        actorLabel: actor.actorLabel ?? null,
        tenantId,
        subjectType: 'tenant',
        subjectId: tenantId,
        changes,
      },
      trx
    )
  })
  forgetAlertConfig(tenantId)
}
