/**
 * credits — credit accounts, the append-only ledger, holds, plans, grants, budgets.
 * This file is the module's ONE public door: other modules import `#credits`, never `#credits/...`.
 *
 * Runs use it as: `hold()` before calling a provider (402 when not covered), `extend()` while
 * streaming if needed, then exactly one of `settle()` (charge ≤ hold, rest freed) or `release()`.
 * A hold nobody resolves expires (sweeper) and its credits return to available.
 */
export { placeHold as hold } from '#credits/actions/place_hold'
export { settleHold as settle } from '#credits/actions/settle_hold'
export { releaseHold as release } from '#credits/actions/release_hold'
export { extendHold as extend } from '#credits/actions/extend_hold'
export { grantCredits as grant, type GrantInput } from '#credits/actions/grant_credits'
export { adjustCredits as adjust, type AdjustInput } from '#credits/actions/adjust_credits'
export { refundCharge as refund, type RefundInput } from '#credits/actions/refund_charge'
export { expireStaleHolds } from '#credits/actions/expire_stale_holds'
export { balanceOf } from '#credits/services/accounts'
export { verifyLedger, addLedgerCheck, holdCharges } from '#credits/services/verify_ledger'
export {
  listLedger,
  ledgerEntries,
  spendSince,
  type LedgerFilters,
} from '#credits/services/ledger_query'
export type { HoldRef } from '#credits/services/hold_tenants'
export type { Within } from '#credits/actions/apply_hold_batch'
export {
  InsufficientCreditsException,
  HoldNotFoundException,
  HoldNotPendingException,
  IdempotencyConflictException,
  CreditsInputException,
} from '#credits/errors'
export {
  DEFAULT_HOLD_TTL_SECONDS,
  HOLD_STATUSES,
  LEDGER_KINDS,
  type Hold,
  type HoldInput,
  type HoldStatus,
  type SettleResult,
  type Balance,
  type LedgerEntry,
  type LedgerKind,
  type EntryResult,
} from '#credits/types'
export { csvField } from '#credits/services/csv'
import '#credits/services/metrics'
