import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import {
  HoldNotFoundException,
  HoldNotPendingException,
  InsufficientCreditsException,
} from '#credits/errors'
import {
  HOLD_COLUMNS,
  lockAccount,
  moveAccount,
  tenantTransaction,
  toHold,
  sql,
} from '#credits/services/accounts'
import type { Hold, SettleResult } from '#credits/types'
import { uuidv7 } from '#credits/services/ids'
import { BudgetBook, type BudgetSubjects } from '#credits/services/budgets'
import { periodAt } from '#credits/services/periods'
import { tenantTimeZone } from '#tenants'

/** One queued request against a tenant's holds; inputs are already validated. */
export type HoldOp =
  | {
      kind: 'hold'
      amount: bigint
      reference: string | null
      idempotencyKey: string | null
      memberId: string | null
      agentId: string | null
      ttlSeconds: number
      /** Names for a budget refusal's message (not stored). */
      labels?: BudgetSubjects['labels']
    }
  | {
      kind: 'settle'
      holdId: string
      actual: bigint
      price: Record<string, unknown> | null
      within?: Within
    }
  | { kind: 'release'; holdId: string; within?: Within }
  | { kind: 'extend'; holdId: string; extra: bigint; ttlSeconds: number | null }

export type NewHoldOp = Extract<HoldOp, { kind: 'hold' }>

/**
 * The caller's own writes that must commit with a settle or release (a run's outcome): run in the
 * batch's tenant-bound transaction after the money moved, only when this op resolved the hold.
 * If one throws, the batch is retried op by op, so only its op fails.
 */
export type Within = (trx: TransactionClientContract) => Promise<void>

/** Each op's own result or error; a refused op (402, 404, 409) does not fail the batch. */
export type Outcome = { ok: true; value: Hold | SettleResult } | { ok: false; error: Error }

type State = {
  hold: Hold
  isNew: boolean
  dirty: boolean
  /** Pending at read time but past its expiry (by database time): treated as expired. */
  stale: boolean
  ttlSeconds: number | null
  chargeEntryId: string | null
  /** The amount as read (an existing hold is only written if it still has it). */
  loadedAmount: bigint
}

type NewCharge = {
  id: string
  amount: bigint
  balanceAfter: bigint
  state: State
  price: Record<string, unknown> | null
}

/**
 * Applies a batch of hold operations of ONE tenant in ONE transaction: the account row is locked
 * once, the ops are applied in order against the in-memory account (holds admitted while
 * available suffices), then written with one multi-row statement per table and one account
 * update. Each hold moves from pending exactly once: updates are conditional on `pending` and
 * the batch fails (and is retried op by op) if any row moved under it.
 */
export async function applyHoldBatch(tenantId: string, ops: HoldOp[]): Promise<Outcome[]> {
  // Settling and releasing decide nothing from the balance: the account row is locked last,
  // after the callers' own writes, so holds of the same tenant wait only for the money part.
  // Holds are then read before the lock: if one moved meanwhile, the batch runs again locked first.
  if (!ops.every((op) => op.kind === 'settle' || op.kind === 'release')) {
    // Read before the transaction (cached): inside it, a one-connection pool would wait on itself.
    const zone = (await tenantTimeZone(tenantId)) ?? 'UTC'
    return applyInTransaction(tenantId, ops, false, zone)
  }
  try {
    return await applyInTransaction(tenantId, ops, true)
  } catch (error) {
    if (error instanceof HoldsChangedError) return applyInTransaction(tenantId, ops, false)
    throw error
  }
}

/** A hold read by the batch was resolved or resized by someone else before the batch wrote it. */
class HoldsChangedError extends Error {}

function applyInTransaction(
  tenantId: string,
  ops: HoldOp[],
  lockLate: boolean,
  zone = 'UTC'
): Promise<Outcome[]> {
  return tenantTransaction(tenantId, async (trx) => {
    let start = lockLate ? { balance: 0n, held: 0n } : await lockAccount(trx, tenantId)
    const account = { ...start }
    const { byId, byKey } = await loadHolds(trx, tenantId, ops)
    const budgets = await loadBudgets(trx, tenantId, ops, byId, zone)
    const charges: NewCharge[] = []
    const withins: Within[] = []
    const results: (Outcome | { ok: true; build: () => Hold | SettleResult })[] = []

    const expireIfStale = (state: State) => {
      if (state.hold.status !== 'pending' || !state.stale) return
      state.hold.status = 'expired'
      state.dirty = true
      account.held -= state.hold.amount
    }

    for (const op of ops) {
      if (op.kind === 'hold') {
        const existing = op.idempotencyKey ? byKey.get(op.idempotencyKey) : undefined
        if (existing) {
          results.push({ ok: true, build: () => ({ ...existing.hold, replayed: true }) })
          continue
        }
        const available = account.balance - account.held
        if (op.amount > available) {
          results.push({ ok: false, error: new InsufficientCreditsException(op.amount, available) })
          continue
        }
        const overBudget = budgets?.refusal(op, op.amount)
        if (overBudget) {
          results.push({ ok: false, error: overBudget })
          continue
        }
        budgets?.add(op, op.amount)
        const state: State = {
          hold: {
            id: uuidv7(),
            tenantId,
            amount: op.amount,
            charged: null,
            reference: op.reference,
            idempotencyKey: op.idempotencyKey,
            memberId: op.memberId,
            agentId: op.agentId,
            status: 'pending',
            expiresAt: new Date(0),
            resolvedAt: null,
            createdAt: new Date(0),
            replayed: false,
          },
          isNew: true,
          dirty: true,
          stale: false,
          ttlSeconds: op.ttlSeconds,
          chargeEntryId: null,
          loadedAmount: op.amount,
        }
        account.held += op.amount
        byId.set(state.hold.id, state)
        if (op.idempotencyKey) byKey.set(op.idempotencyKey, state)
        results.push({ ok: true, build: () => ({ ...state.hold }) })
        continue
      }

      const state = byId.get(op.holdId)
      if (!state) {
        results.push({ ok: false, error: new HoldNotFoundException(op.holdId) })
        continue
      }
      expireIfStale(state)
      const hold = state.hold

      if (op.kind === 'release') {
        if (hold.status === 'pending') {
          hold.status = 'released'
          state.dirty = true
          account.held -= hold.amount
          if (op.within) withins.push(op.within)
        }
        results.push({ ok: true, build: () => ({ ...hold }) })
      } else if (op.kind === 'extend') {
        const available = account.balance - account.held
        if (hold.status !== 'pending') {
          results.push({ ok: false, error: new HoldNotPendingException(hold.id, hold.status) })
        } else if (op.extra > available) {
          results.push({ ok: false, error: new InsufficientCreditsException(op.extra, available) })
        } else if (budgets?.refusal(hold, op.extra)) {
          results.push({ ok: false, error: budgets.refusal(hold, op.extra)! })
        } else {
          budgets?.add(hold, op.extra)
          hold.amount += op.extra
          account.held += op.extra
          state.dirty = true
          if (op.ttlSeconds !== null)
            state.ttlSeconds = Math.max(state.ttlSeconds ?? 0, op.ttlSeconds)
          results.push({ ok: true, build: () => ({ ...hold }) })
        }
      } else if (hold.status === 'settled') {
        results.push({ ok: true, build: () => settleResult(state, false, true) })
      } else if (hold.status !== 'pending') {
        results.push({ ok: false, error: new HoldNotPendingException(hold.id, hold.status) })
      } else {
        // Spend never exceeds the hold: the rest of the actual cost is not charged.
        const charged = op.actual < hold.amount ? op.actual : hold.amount
        hold.status = 'settled'
        hold.charged = charged
        state.dirty = true
        account.held -= hold.amount
        account.balance -= charged
        if (charged > 0n) {
          state.chargeEntryId = uuidv7()
          charges.push({
            id: state.chargeEntryId,
            amount: -charged,
            balanceAfter: account.balance,
            state,
            price: op.price,
          })
        }
        if (op.within) withins.push(op.within)
        results.push({ ok: true, build: () => settleResult(state, op.actual > hold.amount, false) })
      }
    }

    if (lockLate) {
      // So far `account` holds deltas: anchor them (and each charge's balance) to the locked row.
      for (const within of withins) await within(trx)
      start = await lockAccount(trx, tenantId)
      for (const charge of charges) charge.balanceAfter += start.balance
      account.balance += start.balance
      account.held += start.held
    }
    await writeHolds(
      trx,
      tenantId,
      [...byId.values()].filter((state) => state.dirty)
    )
    await writeCharges(trx, tenantId, charges)
    if (account.balance !== start.balance || account.held !== start.held) {
      await moveAccount(
        trx,
        tenantId,
        { balance: account.balance - start.balance, held: account.held - start.held },
        account
      )
    }
    if (!lockLate) for (const within of withins) await within(trx)
    return results.map((result): Outcome =>
      'build' in result ? { ok: true, value: result.build() } : result
    )
  })
}

/**
 * The budgets that new holds and extensions of this batch count against (null when none apply).
 * Read after the account lock: every batch that could spend against them is serialised.
 */
function loadBudgets(
  trx: TransactionClientContract,
  tenantId: string,
  ops: HoldOp[],
  byId: Map<string, State>,
  zone: string
) {
  const spenders = ops.flatMap((op): BudgetSubjects[] => {
    if (op.kind === 'hold') return [op]
    const state = op.kind === 'extend' ? byId.get(op.holdId) : undefined
    return state ? [state.hold] : []
  })
  const ids = (pick: (s: BudgetSubjects) => string | null) => [
    ...new Set(spenders.map(pick).filter((id): id is string => id !== null)),
  ]
  return BudgetBook.load(
    trx,
    tenantId,
    { members: ids((s) => s.memberId), agents: ids((s) => s.agentId) },
    periodAt(new Date(), zone).start.toJSDate()
  )
}

function settleResult(state: State, capped: boolean, replayed: boolean): SettleResult {
  const charged = state.hold.charged ?? 0n
  return {
    hold: { ...state.hold },
    charged,
    released: state.hold.amount - charged,
    entryId: state.chargeEntryId,
    capped,
    replayed,
  }
}

/** The holds the batch refers to, by id and by idempotency key, with their charge entries. */
async function loadHolds(trx: TransactionClientContract, tenantId: string, ops: HoldOp[]) {
  const ids = [...new Set(ops.flatMap((op) => (op.kind === 'hold' ? [] : [op.holdId])))]
  const keys = [
    ...new Set(
      ops.flatMap((op) => (op.kind === 'hold' && op.idempotencyKey ? [op.idempotencyKey] : []))
    ),
  ]
  const byId = new Map<string, State>()
  const byKey = new Map<string, State>()
  if (!ids.length && !keys.length) return { byId, byKey }

  const { rows } = await sql(
    trx,
    `SELECT ${HOLD_COLUMNS}, status = 'pending' AND expires_at <= now() AS stale
       FROM credit_holds
      WHERE tenant_id = ? AND (id = ANY(?::uuid[]) OR idempotency_key = ANY(?::text[]))`,
    [tenantId, ids, keys]
  )
  for (const row of rows) {
    const state: State = {
      hold: toHold(row),
      isNew: false,
      dirty: false,
      stale: row.stale,
      ttlSeconds: null,
      chargeEntryId: null,
      loadedAmount: BigInt(row.amount),
    }
    byId.set(state.hold.id, state)
    if (state.hold.idempotencyKey) byKey.set(state.hold.idempotencyKey, state)
  }
  const settled = rows.filter((row: any) => row.status === 'settled').map((row: any) => row.id)
  if (settled.length) {
    const charges = await sql(
      trx,
      `SELECT id, hold_id FROM ledger_entries WHERE tenant_id = ? AND kind = 'charge' AND hold_id = ANY(?::uuid[])`,
      [tenantId, settled]
    )
    for (const charge of charges.rows) byId.get(charge.hold_id)!.chargeEntryId = charge.id
  }
  return { byId, byKey }
}

/** Inserts the batch's new holds and moves the existing ones, one statement each. */
async function writeHolds(trx: TransactionClientContract, tenantId: string, states: State[]) {
  const fresh = states.filter((state) => state.isNew)
  const moved = states.filter((state) => !state.isNew)
  if (fresh.length) {
    const column = <T>(pick: (hold: Hold, state: State) => T) =>
      fresh.map((state) => pick(state.hold, state))
    const { rows } = await sql(
      trx,
      `INSERT INTO credit_holds (id, tenant_id, amount, charged, reference, idempotency_key, member_id, agent_id,
                                 status, expires_at, resolved_at)
       SELECT u.id, ?, u.amount, u.charged, u.reference, u.key, u.member, u.agent, u.status,
              now() + make_interval(secs => u.ttl), CASE WHEN u.status = 'pending' THEN NULL ELSE now() END
         FROM unnest(?::uuid[], ?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::uuid[], ?::uuid[],
                     ?::text[], ?::int[])
           AS u(id, amount, charged, reference, key, member, agent, status, ttl)
       RETURNING id, expires_at, resolved_at, created_at`,
      [
        tenantId,
        column((h) => h.id),
        column((h) => h.amount.toString()),
        column((h) => h.charged?.toString() ?? null),
        column((h) => h.reference),
        column((h) => h.idempotencyKey),
        column((h) => h.memberId),
        column((h) => h.agentId),
        column((h) => h.status),
        column((_h, s) => s.ttlSeconds),
      ]
    )
    stamp(fresh, rows)
  }
  if (moved.length) {
    const column = <T>(pick: (hold: Hold, state: State) => T) =>
      moved.map((state) => pick(state.hold, state))
    const { rows } = await sql(
      trx,
      `UPDATE credit_holds AS h
          SET amount = u.amount, status = u.status, charged = u.charged,
              resolved_at = CASE WHEN u.status = 'pending' THEN NULL ELSE now() END,
              expires_at = CASE WHEN u.ttl IS NULL THEN h.expires_at
                                ELSE GREATEST(h.expires_at, now() + make_interval(secs => u.ttl)) END
         FROM unnest(?::uuid[], ?::bigint[], ?::text[], ?::bigint[], ?::int[], ?::bigint[])
           AS u(id, amount, status, charged, ttl, loaded)
        WHERE h.id = u.id AND h.tenant_id = ? AND h.status = 'pending' AND h.amount = u.loaded
       RETURNING h.id, h.expires_at, h.resolved_at, h.created_at`,
      [
        column((h) => h.id),
        column((h) => h.amount.toString()),
        column((h) => h.status),
        column((h) => h.charged?.toString() ?? null),
        column((_h, s) => s.ttlSeconds),
        column((_h, s) => s.loadedAmount.toString()),
        tenantId,
      ]
    )
    // A hold resolved or resized by someone else since we read it: abort and start again.
    if (rows.length !== moved.length)
      throw new HoldsChangedError(`credit holds of ${tenantId} changed during a batch`)
    stamp(moved, rows)
  }
}

function stamp(states: State[], rows: any[]) {
  const byId = new Map(rows.map((row) => [row.id, row]))
  for (const state of states) {
    const row = byId.get(state.hold.id)
    state.hold.expiresAt = new Date(row.expires_at)
    state.hold.resolvedAt = row.resolved_at ? new Date(row.resolved_at) : null
    state.hold.createdAt = new Date(row.created_at)
  }
}

/** The batch's charge entries, in order, with their running balance. */
async function writeCharges(
  trx: TransactionClientContract,
  tenantId: string,
  charges: NewCharge[]
) {
  if (!charges.length) return
  const column = <T>(pick: (charge: NewCharge) => T) => charges.map(pick)
  await sql(
    trx,
    `INSERT INTO ledger_entries (id, tenant_id, kind, amount, balance_after, reference, member_id, agent_id,
                                hold_id, price)
     SELECT u.id, ?, 'charge', u.amount, u.balance_after, u.reference, u.member, u.agent, u.hold, u.price
       FROM unnest(?::uuid[], ?::bigint[], ?::bigint[], ?::text[], ?::uuid[], ?::uuid[], ?::uuid[], ?::jsonb[])
         AS u(id, amount, balance_after, reference, member, agent, hold, price)`,
    [
      tenantId,
      column((c) => c.id),
      column((c) => c.amount.toString()),
      column((c) => c.balanceAfter.toString()),
      column((c) => c.state.hold.reference),
      column((c) => c.state.hold.memberId),
      column((c) => c.state.hold.agentId),
      column((c) => c.state.hold.id),
      column((c) => (c.price ? JSON.stringify(c.price) : null)),
    ]
  )
}
