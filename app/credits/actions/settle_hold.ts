import { enqueueHoldOp } from '#credits/services/hold_queue'
import { resolveHold, type HoldRef } from '#credits/services/hold_tenants'
import { micros } from '#credits/services/accounts'
import { CreditsInputException } from '#credits/errors'
import type { SettleResult } from '#credits/types'
import type { Within } from '#credits/actions/apply_hold_batch'
import { alertAfterCharge } from '#credits/services/alerts'

/**
 * Charges the actual cost of a run against its hold and frees the rest, in one transaction.
 * The charge is min(actual, hold): spend never exceeds the hold. Settling a settled hold is a
 * no-op that returns the first result; a released or expired hold refuses (409). `within` writes
 * the caller's rows in the same transaction (see Within).
 */
export async function settleHold(
  ref: HoldRef,
  actualMicros: bigint | number,
  options: {
    price?: Record<string, unknown> | null
    tenantId?: string | null
    within?: Within
  } = {}
): Promise<SettleResult> {
  const actual = micros(actualMicros, 'actual', 'non-negative')
  const price = options.price ?? null
  if (price !== null && (typeof price !== 'object' || Array.isArray(price)))
    throw new CreditsInputException('price must be an object')
  const { holdId, tenantId } = await resolveHold(ref, options.tenantId)
  const result = await enqueueHoldOp<SettleResult>(tenantId, {
    kind: 'settle',
    holdId,
    actual,
    price,
    within: options.within,
  })
  if (result.charged > 0n && !result.replayed) alertAfterCharge(tenantId, result.hold)
  return result
}
