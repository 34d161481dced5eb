/** Money is bigint micro-credits everywhere in this module (1 credit = 1,000,000). */
export type Micros = bigint

export const HOLD_STATUSES = ['pending', 'settled', 'released', 'expired'] as const
export type HoldStatus = (typeof HOLD_STATUSES)[number]

export const LEDGER_KINDS = [
  'grant',
  'purchase',
  'allowance',
  'charge',
  'refund',
  'adjustment',
  'expiry',
] as const
export type LedgerKind = (typeof LEDGER_KINDS)[number]

/** A reservation of credits for one run; it resolves exactly once (settled, released or expired). */
export type Hold = {
  id: string
  tenantId: string
  amount: Micros
  /** What the settlement charged (≤ amount); null unless settled. */
  charged: Micros | null
  reference: string | null
  idempotencyKey: string | null
  memberId: string | null
  agentId: string | null
  status: HoldStatus
  expiresAt: Date
  resolvedAt: Date | null
  createdAt: Date
  /** True when an earlier hold with the same idempotency key was returned instead of a new one. */
  replayed: boolean
}

export type HoldInput = {
  tenantId: string
  amount: Micros
  reference?: string | null
  idempotencyKey?: string | null
  /** The member (user id) the run is for, so budgets can be enforced per member. */
  memberId?: string | null
  agentId?: string | null
  /** Names of the member and agent for a budget refusal's message (not stored). */
  labels?: { member?: string | null; agent?: string | null }
  /** Time until the sweeper may expire the hold; default DEFAULT_HOLD_TTL_SECONDS. */
  ttlSeconds?: number
}

export type SettleResult = {
  hold: Hold
  /** Charged = min(actual, hold amount). */
  charged: Micros
  /** Freed back to available: hold amount − charged. */
  released: Micros
  /** The charge ledger entry (null when nothing was charged). */
  entryId: string | null
  /** True when the actual cost exceeded the hold and was capped at it. */
  capped: boolean
  /** True when the hold had already been settled: the first result is returned. */
  replayed: boolean
}

export type Balance = { balance: Micros; held: Micros; available: Micros }

export type LedgerEntry = {
  id: string
  tenantId: string
  kind: LedgerKind
  amount: Micros
  balanceAfter: Micros
  reference: string | null
  idempotencyKey: string | null
  actorId: string | null
  memberId: string | null
  agentId: string | null
  holdId: string | null
  price: Record<string, unknown> | null
  /** RFC 3339 in UTC with microseconds (exact: it is also the keyset cursor). */
  createdAt: string
}

/** The result of a money write: the entry, and whether it already existed (same idempotency key). */
export type EntryResult = { entry: LedgerEntry; replayed: boolean }

/** Long enough for RUN_TIMEOUT_S (300 s by default) plus the agents' own clean-up margin. */
export const DEFAULT_HOLD_TTL_SECONDS = 900
export const MAX_HOLD_TTL_SECONDS = 7 * 24 * 3600
