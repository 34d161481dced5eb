import { enqueueHoldOp } from '#credits/services/hold_queue'
import { resolveHold, type HoldRef } from '#credits/services/hold_tenants'
import type { Hold } from '#credits/types'
import type { Within } from '#credits/actions/apply_hold_batch'

/**
 * Frees a pending hold without charging. Releasing a hold that is already resolved changes
 * nothing (and `within`, the caller's writes in the same transaction, does not run).
 */
export async function releaseHold(
  ref: HoldRef,
  options: { tenantId?: string | null; within?: Within } = {}
): Promise<Hold> {
  const { holdId, tenantId } = await resolveHold(ref, options.tenantId)
  return enqueueHoldOp<Hold>(tenantId, { kind: 'release', holdId, within: options.within })
}
