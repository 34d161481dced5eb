import { DomainException, formatCredits } from '#core'

/** Not enough available credits: 402 whose detail says what was needed and what is available. */
export class InsufficientCreditsException extends DomainException {
  constructor(
    public needed: bigint,
    public available: bigint
  ) {
    super(
      `needs ${formatCredits(needed)} credits, ${formatCredits(available < 0n ? 0n : available)} available`,
      {
        status: 402,
        code: 'E_INSUFFICIENT_CREDITS',
      }
    )
  }
}

/** The hold does not exist (or belongs to another tenant). */
export class HoldNotFoundException extends DomainException {
  constructor(public holdId: string) {
    super(`hold ${holdId} not found`, { status: 404, code: 'E_HOLD_NOT_FOUND' })
  }
}

/** The hold was already resolved differently (released or expired), so it can no longer move money. */
export class HoldNotPendingException extends DomainException {
  constructor(
    public holdId: string,
    public holdStatus: string
  ) {
    super(`hold ${holdId} is ${holdStatus}, not pending`, {
      status: 409,
      code: 'E_HOLD_NOT_PENDING',
    })
  }
}

/** An idempotency key reused for a different operation or amount. */
export class IdempotencyConflictException extends DomainException {
  constructor(key: string) {
    super(`idempotency key "${key}" was already used for a different operation`, {
      status: 409,
      code: 'E_IDEMPOTENCY_CONFLICT',
    })
  }
}

/** A programming or operator mistake in the arguments (bad amount, id, reason). */
export class CreditsInputException extends DomainException {
  constructor(message: string) {
    super(message, { status: 422, code: 'E_INVALID_CREDITS_INPUT' })
  }
}

/** A monthly budget (per member or per agent) would be exceeded: 403 whose detail names it. */
export class BudgetExceededException extends DomainException {
  constructor(
    public scope: 'member' | 'agent',
    public subjectId: string,
    detail: { label: string | null; limit: bigint; used: bigint; needed: bigint }
  ) {
    const name = detail.label
      ? `${scope === 'agent' ? 'agent' : 'member'} "${detail.label}"`
      : `this ${scope}`
    super(
      `The monthly budget of ${name} would be exceeded: ${formatCredits(detail.used)} of ` +
        `${formatCredits(detail.limit)} credits spent or held this month, this needs up to ` +
        `${formatCredits(detail.needed)} more`,
      { status: 403, code: 'E_BUDGET_EXCEEDED' }
    )
  }
}
