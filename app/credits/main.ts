/**
 * credits — credit accounts, the append-only ledger, holds, plans and allowances, purchases,
 * budgets and their alerts.
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
export { grantCredits as grant } from '#credits/actions/grant_credits'
export { adjustCredits as adjust } from '#credits/actions/adjust_credits'
export { refundCharge as refund } from '#credits/actions/refund_charge'
export { expireStaleHolds } from '#credits/actions/expire_stale_holds'
export { startHoldSweeper } from '#credits/sweeper'
export { balanceOf } from '#credits/services/accounts'
export { verifyLedger, addLedgerCheck, holdCharges } from '#credits/services/verify_ledger'
export {
  InsufficientCreditsException,
  HoldNotFoundException,
  HoldNotPendingException,
  IdempotencyConflictException,
  CreditsInputException,
  BudgetExceededException,
} from '#credits/errors'
export { grantAllowances } from '#credits/actions/grant_allowances'
export { changePlan } from '#credits/actions/change_plan'
export { updatePlan } from '#credits/actions/update_plan'
export { packsJson } from '#credits/services/billing_json'
export {
  fulfilPurchase,
  findPurchase,
  failPurchase,
  listPurchases,
  purchaseName,
  type Purchase,
} from '#credits/actions/purchases'
export { registerBudgetAgents } from '#credits/services/budgets'
export { alertsIdle } from '#credits/services/alerts'
export { default as BudgetThresholdReached } from '#credits/events/budget_threshold_reached'
export { default as CreditsRanLow } from '#credits/events/credits_ran_low'
export { formatPrice, listPlans, pendingPlanChange } from '#credits/services/plans'
export { balanceAndSpend } from '#credits/services/ledger_query'
export { type Hold, type SettleResult, type Balance, type LedgerEntry } from '#credits/types'
import '#credits/services/metrics'
import '#credits/export'
import '#credits/home'
import '#credits/member_limit'
