import { enqueueHoldOp } from '#credits/services/hold_queue'
import { rememberHold } from '#credits/services/hold_tenants'
import { assertUuid, micros, optionalText, optionalUuid } from '#credits/services/accounts'
import { CreditsInputException } from '#credits/errors'
import {
  DEFAULT_HOLD_TTL_SECONDS,
  MAX_HOLD_TTL_SECONDS,
  type Hold,
  type HoldInput,
} from '#credits/types'

/** Checks a TTL in whole seconds (1 s … 7 days). */
export function ttlSeconds(value: unknown, fallback: number | null) {
  if (value === undefined || value === null) return fallback
  if (
    !Number.isInteger(value) ||
    (value as number) < 1 ||
    (value as number) > MAX_HOLD_TTL_SECONDS
  ) {
    throw new CreditsInputException(
      `ttlSeconds must be a whole number of seconds from 1 to ${MAX_HOLD_TTL_SECONDS}`
    )
  }
  return value as number
}

/**
 * Reserves `amount` micro-credits for a run. Throws InsufficientCreditsException (402) when
 * available credits do not cover it, BudgetExceededException (403) when the member's or the
 * agent's monthly budget would be exceeded. A reused idempotency key returns the first hold (with
 * `replayed: true`) whatever its state, and never reserves twice.
 */
export async function placeHold(input: HoldInput): Promise<Hold> {
  assertUuid(input?.tenantId, 'tenantId')
  const hold = await enqueueHoldOp<Hold>(input.tenantId, {
    kind: 'hold',
    amount: micros(input.amount, 'amount', 'positive'),
    reference: optionalText(input.reference, 'reference', 500),
    idempotencyKey: optionalText(input.idempotencyKey, 'idempotencyKey', 255),
    memberId: optionalUuid(input.memberId, 'memberId'),
    agentId: optionalUuid(input.agentId, 'agentId'),
    ttlSeconds: ttlSeconds(input.ttlSeconds, DEFAULT_HOLD_TTL_SECONDS)!,
    labels: input.labels,
  })
  rememberHold(hold)
  return hold
}
