import { enqueueHoldOp } from '#credits/services/hold_queue'
import { resolveHold, type HoldRef } from '#credits/services/hold_tenants'
import { micros } from '#credits/services/accounts'
import { ttlSeconds } from '#credits/actions/place_hold'
import type { Hold } from '#credits/types'

/**
 * Grows a pending hold while a run streams (402 when available credits do not cover the extra);
 * `ttlSeconds` optionally pushes its expiry to at least now + ttl (extra 0 only renews it).
 */
export async function extendHold(
  ref: HoldRef,
  extraMicros: bigint | number,
  options: { ttlSeconds?: number; tenantId?: string | null } = {}
): Promise<Hold> {
  const extra = micros(extraMicros, 'extra', 'non-negative')
  const ttl = ttlSeconds(options.ttlSeconds, null)
  const { holdId, tenantId } = await resolveHold(ref, options.tenantId)
  return enqueueHoldOp<Hold>(tenantId, { kind: 'extend', holdId, extra, ttlSeconds: ttl })
}
