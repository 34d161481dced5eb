import { enqueueHoldOp } from '#credits/services/hold_queue'
import { resolveHold, type HoldRef } from '#credits/services/hold_tenants'
import type { Hold } from '#credits/types'

/** Frees a pending hold without charging. Releasing a hold that is already resolved changes nothing. */
export async function releaseHold(ref: HoldRef, options: { tenantId?: string | null } = {}): Promise<Hold> {
  const { holdId, tenantId } = await resolveHold(ref, options.tenantId)
  return enqueueHoldOp<Hold>(tenantId, { kind: 'release', holdId })
}
