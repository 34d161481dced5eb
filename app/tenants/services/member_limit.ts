import type { TransactionClientContract } from '@adonisjs/lucid/types/database'

/** A plan's member limit (null: unlimited) and its name, by plan id: credits owns plans. */
type LimitOf = (planId: string) => Promise<{ limit: number | null; planName: string } | null>

let limitOf: LimitOf = async () => null

/** Credits registers how a plan limits its workspace's members (tenants cannot import it). */
export function registerMemberLimit(fn: LimitOf) {
  limitOf = fn
}

/**
 * Why a workspace on `planId` has no room for one more person, or null. Members count, and, when
 * inviting, the invitations still pending (each may become a member).
 */
export async function memberRoomProblem(
  trx: TransactionClientContract,
  tenant: { id: string; planId: string },
  countPending: boolean
): Promise<string | null> {
  const plan = await limitOf(tenant.planId)
  if (!plan || plan.limit === null) return null
  const { rows } = await trx.rawQuery(
    `SELECT (SELECT count(*) FROM memberships WHERE tenant_id = ?)
          + (CASE WHEN ? THEN (SELECT count(*) FROM invitations WHERE tenant_id = ?
               AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()) ELSE 0 END)
            AS taken`,
    [tenant.id, countPending, tenant.id]
  )
  const taken = Number(rows[0].taken)
  if (taken < plan.limit) return null
  return (
    `The ${plan.planName} plan allows ${plan.limit} members` +
    (countPending ? ' (pending invitations count)' : '') +
    `: this workspace has ${taken}. Upgrade the plan, or remove a member or an invitation first.`
  )
}
