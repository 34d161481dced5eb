import db from '@adonisjs/lucid/services/db'
import type { QueryClientContract } from '@adonisjs/lucid/types/database'
import type { NewHoldOp as NewHold, Outcome } from '#credits/actions/apply_hold_batch'
import { HOLD_COLUMNS, sql, toHold } from '#credits/services/accounts'
import type { Hold } from '#credits/types'
import { uuidv7 } from '#credits/services/ids'

/**
 * The fast path for a batch made only of new holds: ONE statement (its own transaction) inserts
 * the holds and adds their total to `held` with one update of the account row — the row lock is
 * taken once and the CHECK (balance − held ≥ 0) admits all of them or none. When it
 * refuses, the caller falls back to applyHoldBatch, which admits in order and answers 402s.
 * A key already used (by an earlier batch or another process) is skipped by ON CONFLICT and
 * answered with the existing hold. Scoped by explicit tenant_id on the owner connection: one
 * round trip instead of six is what lets one hot account take thousands of holds per second.
 * A batch that spends against a budget inserts nothing and takes the general path, which checks
 * budgets (an index probe per batch keeps that decision in the same statement, in every process).
 * Returns null when the batch must take the general path.
 */
export async function admitHoldBatch(tenantId: string, ops: NewHold[]): Promise<Outcome[] | null> {
  // One insert per key: later ops with a key seen earlier in the batch share its hold.
  const firstOfKey = new Map<string, number>()
  const inserts: { index: number; id: string; op: NewHold }[] = []
  ops.forEach((op, index) => {
    if (op.idempotencyKey && firstOfKey.has(op.idempotencyKey)) return
    if (op.idempotencyKey) firstOfKey.set(op.idempotencyKey, index)
    inserts.push({ index, id: uuidv7(), op })
  })
  const column = <T>(pick: (op: NewHold, id: string) => T) =>
    inserts.map((insert) => pick(insert.op, insert.id))
  const subjectIds = (pick: (op: NewHold) => string | null) => [
    ...new Set(ops.map(pick).filter((id): id is string => id !== null)),
  ]

  let rows: any[]
  try {
    rows = await guarded((client) =>
      sql(
        client,
        `WITH budgeted AS (
           SELECT 1 FROM credit_budgets
            WHERE tenant_id = ? AND ((scope = 'member' AND subject_id = ANY(?::uuid[]))
                                  OR (scope = 'agent' AND subject_id = ANY(?::uuid[])))
            LIMIT 1
         ),
         ins AS (
           INSERT INTO credit_holds (id, tenant_id, amount, reference, idempotency_key, member_id, agent_id, expires_at)
           SELECT u.id, ?, u.amount, u.reference, u.key, u.member, u.agent, now() + make_interval(secs => u.ttl)
             FROM unnest(?::uuid[], ?::bigint[], ?::text[], ?::text[], ?::uuid[], ?::uuid[], ?::int[])
               AS u(id, amount, reference, key, member, agent, ttl)
            WHERE EXISTS (SELECT 1 FROM credit_accounts WHERE tenant_id = ?)
              AND NOT EXISTS (SELECT 1 FROM budgeted)
           ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
           RETURNING ${HOLD_COLUMNS}
         ),
         account AS (
           UPDATE credit_accounts SET held = held + (SELECT COALESCE(SUM(amount), 0) FROM ins), updated_at = now()
            WHERE tenant_id = ?
           RETURNING held
         )
         SELECT ins.*, EXISTS (SELECT 1 FROM budgeted) AS budgeted FROM account LEFT JOIN ins ON TRUE`,
        [
          tenantId,
          subjectIds((op) => op.memberId),
          subjectIds((op) => op.agentId),
          tenantId,
          column((_op, id) => id),
          column((op) => op.amount.toString()),
          column((op) => op.reference),
          column((op) => op.idempotencyKey),
          column((op) => op.memberId),
          column((op) => op.agentId),
          column((op) => op.ttlSeconds),
          tenantId,
          tenantId,
        ]
      ).then((result) => result.rows)
    )
  } catch (error) {
    const code = (error as { code?: string }).code
    // Not enough available for the whole batch: the general path sorts out which holds fit.
    if (code === '23514') return null
    throw error
  }

  // No account yet (a tenant's first hold), or a budget applies: the general path handles it.
  if (!rows.length || rows[0].budgeted) return null
  const placed = new Map<string, Hold>(
    rows.filter((row) => row.id).map((row) => [row.id, toHold(row)])
  )
  const skippedKeys = inserts
    .filter((insert) => !placed.has(insert.id))
    .map((insert) => insert.op.idempotencyKey!)
  const existing = new Map<string, Hold>()
  if (skippedKeys.length) {
    const found = await sql(
      db,
      `SELECT ${HOLD_COLUMNS} FROM credit_holds WHERE tenant_id = ? AND idempotency_key = ANY(?::text[])`,
      [tenantId, skippedKeys]
    )
    for (const row of found.rows) existing.set(row.idempotency_key, toHold(row, true))
  }
  const holdOf = new Map<number, Hold>()
  for (const insert of inserts) {
    const hold = placed.get(insert.id) ?? existing.get(insert.op.idempotencyKey ?? '')
    if (!hold)
      throw new Error(`hold for key ${insert.op.idempotencyKey} was neither placed nor found`)
    holdOf.set(insert.index, hold)
  }
  return ops.map((op, index): Outcome => {
    const own = holdOf.get(index)
    if (own) return { ok: true, value: own }
    return {
      ok: true,
      value: { ...holdOf.get(firstOfKey.get(op.idempotencyKey!)!)!, replayed: true },
    }
  })
}

/**
 * Runs the statement on its own. Inside a caller's transaction (tests run in one) a savepoint
 * keeps a refused statement from aborting that transaction.
 */
async function guarded<T>(fn: (client: QueryClientContract) => Promise<T>): Promise<T> {
  const client = db.connection()
  return client.isTransaction ? client.transaction((trx) => fn(trx)) : fn(client)
}
