import db from '@adonisjs/lucid/services/db'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import { EXACT_CREATED_AT, isUuid, preparedQuery } from '#core'
import { withTenant } from '#tenants'
import { CreditsInputException } from '#credits/errors'
import type { Balance, Hold, HoldStatus, LedgerEntry, LedgerKind } from '#credits/types'

/**
 * How hold batches reach the database (the bench flips these to measure them). `fastPath`: a
 * batch of only new holds is one statement on the owner connection (admitHoldBatch). `rls`: the
 * general path runs as the RLS-bound app role (defence in depth; two extra statements per batch).
 */
export const writeSettings = { rls: true, fastPath: true, maxBatch: 256 }

export const HOLD_COLUMNS =
  'id, tenant_id, amount, charged, reference, idempotency_key, member_id, agent_id, status, ' +
  'expires_at, resolved_at, created_at'
export const ENTRY_COLUMNS =
  'id, tenant_id, kind, amount, balance_after, reference, idempotency_key, actor_id, member_id, ' +
  `agent_id, hold_id, price, ${EXACT_CREATED_AT} AS created_at`

const big = (value: unknown) => BigInt(value as string)
const bigOrNull = (value: unknown) =>
  value === null || value === undefined ? null : BigInt(value as string)

export function toHold(row: any, replayed = false): Hold {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    amount: big(row.amount),
    charged: bigOrNull(row.charged),
    reference: row.reference ?? null,
    idempotencyKey: row.idempotency_key ?? null,
    memberId: row.member_id ?? null,
    agentId: row.agent_id ?? null,
    status: row.status as HoldStatus,
    expiresAt: new Date(row.expires_at),
    resolvedAt: row.resolved_at ? new Date(row.resolved_at) : null,
    createdAt: new Date(row.created_at),
    replayed,
  }
}

export function toEntry(row: any): LedgerEntry {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    kind: row.kind as LedgerKind,
    amount: big(row.amount),
    balanceAfter: big(row.balance_after),
    reference: row.reference ?? null,
    idempotencyKey: row.idempotency_key ?? null,
    actorId: row.actor_id ?? null,
    memberId: row.member_id ?? null,
    agentId: row.agent_id ?? null,
    holdId: row.hold_id ?? null,
    price: row.price ?? null,
    createdAt: row.created_at,
  }
}

/** Raw SQL with positional bindings (knex's types reject the nulls and arrays we bind). */
export async function sql(
  client: Pick<TransactionClientContract, 'rawQuery'>,
  text: string,
  bindings: unknown[] = []
): Promise<{ rows: any[]; rowCount: number }> {
  return preparedQuery(client, text, bindings)
}

/** A transaction for one tenant's money; with `rls`, bound to the tenant for row-level security. */
export async function tenantTransaction<T>(
  tenantId: string,
  fn: (trx: TransactionClientContract) => Promise<T>,
  options = { rls: writeSettings.rls }
) {
  return options.rls ? withTenant(tenantId, fn) : db.transaction(fn)
}

export type LockedAccount = { balance: bigint; held: bigint }

/**
 * Locks the tenant's account row for the rest of the transaction, creating it on first use.
 * Every write that moves balance or held goes through this lock, so writes of one tenant are
 * serialised across processes while other tenants proceed in parallel.
 */
export async function lockAccount(
  trx: TransactionClientContract,
  tenantId: string
): Promise<LockedAccount> {
  const select = () =>
    sql(trx, 'SELECT balance, held FROM credit_accounts WHERE tenant_id = ? FOR UPDATE', [tenantId])
  let { rows } = await select()
  if (!rows.length) {
    try {
      await sql(
        trx,
        'INSERT INTO credit_accounts (tenant_id) VALUES (?) ON CONFLICT (tenant_id) DO NOTHING',
        [tenantId]
      )
    } catch (error) {
      if ((error as { code?: string }).code === '23503')
        throw new CreditsInputException(`tenant ${tenantId} does not exist`)
      throw error
    }
    ;({ rows } = await select())
  }
  return { balance: BigInt(rows[0].balance), held: BigInt(rows[0].held) }
}

/** Moves the locked account by deltas and checks the result against what the caller computed. */
export async function moveAccount(
  trx: TransactionClientContract,
  tenantId: string,
  delta: { balance: bigint; held: bigint },
  expected: LockedAccount
) {
  const { rows } = await sql(
    trx,
    `UPDATE credit_accounts SET balance = balance + ?, held = held + ?, updated_at = now()
     WHERE tenant_id = ? RETURNING balance, held`,
    [delta.balance.toString(), delta.held.toString(), tenantId]
  )
  if (BigInt(rows[0].balance) !== expected.balance || BigInt(rows[0].held) !== expected.held) {
    throw new Error(
      `credit account ${tenantId} moved under its lock: ` +
        `expected ${expected.balance}/${expected.held}, got ${rows[0].balance}/${rows[0].held}`
    )
  }
}

/** Appends one money entry to a locked account and moves its balance (the caller checked the rules). */
export async function appendEntry(
  trx: TransactionClientContract,
  account: LockedAccount & { tenantId: string },
  entry: {
    kind: LedgerKind
    amount: bigint
    reference: string | null
    idempotencyKey?: string | null
    actorId?: string | null
    memberId?: string | null
    agentId?: string | null
    holdId?: string | null
  }
): Promise<LedgerEntry> {
  const balanceAfter = account.balance + entry.amount
  const { rows } = await sql(
    trx,
    `INSERT INTO ledger_entries (tenant_id, kind, amount, balance_after, reference, idempotency_key,
                                actor_id, member_id, agent_id, hold_id)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${ENTRY_COLUMNS}`,
    [
      account.tenantId,
      entry.kind,
      entry.amount.toString(),
      balanceAfter.toString(),
      entry.reference,
      entry.idempotencyKey ?? null,
      entry.actorId ?? null,
      entry.memberId ?? null,
      entry.agentId ?? null,
      entry.holdId ?? null,
    ]
  )
  await moveAccount(
    trx,
    account.tenantId,
    { balance: entry.amount, held: 0n },
    { balance: balanceAfter, held: account.held }
  )
  return toEntry(rows[0])
}

/** The entry written earlier under this idempotency key, if any. */
export async function entryByKey(
  trx: TransactionClientContract,
  tenantId: string,
  key: string | null
) {
  if (!key) return null
  const { rows } = await sql(
    trx,
    `SELECT ${ENTRY_COLUMNS} FROM ledger_entries WHERE tenant_id = ? AND idempotency_key = ?`,
    [tenantId, key]
  )
  return rows.length ? toEntry(rows[0]) : null
}

/** The tenant's balance, held and available credits (zero before the account's first write). */
export async function balanceOf(tenantId: string): Promise<Balance> {
  assertUuid(tenantId, 'tenantId')
  const row = await db
    .from('credit_accounts')
    .where('tenant_id', tenantId)
    .select('balance', 'held')
    .first()
  const balance = row ? BigInt(row.balance) : 0n
  const held = row ? BigInt(row.held) : 0n
  return { balance, held, available: balance - held }
}

/* ------------------------------------------------------------------------------ input checks */

/** A trillion credits: far beyond any real balance, and sums stay inside a PostgreSQL bigint. */
export const MAX_MICROS = 10n ** 18n

export function assertUuid(value: unknown, label: string): asserts value is string {
  if (!isUuid(value)) throw new CreditsInputException(`${label} must be a UUID`)
}

export function optionalUuid(value: unknown, label: string): string | null {
  if (value === undefined || value === null) return null
  assertUuid(value, label)
  return value
}

/** Money arguments are bigint micro-credits; numbers are accepted only as safe integers. */
export function micros(
  value: unknown,
  label: string,
  rule: 'positive' | 'non-negative' | 'non-zero'
): bigint {
  let amount: bigint
  if (typeof value === 'bigint') amount = value
  else if (typeof value === 'number' && Number.isSafeInteger(value)) amount = BigInt(value)
  else if (typeof value === 'string' && /^-?\d{1,19}$/.test(value)) amount = BigInt(value)
  else throw new CreditsInputException(`${label} must be an integer number of micro-credits`)
  const ok =
    rule === 'positive' ? amount > 0n : rule === 'non-negative' ? amount >= 0n : amount !== 0n
  if (!ok) throw new CreditsInputException(`${label} must be ${rule.replace('-', ' ')}`)
  if (amount > MAX_MICROS || amount < -MAX_MICROS)
    throw new CreditsInputException(`${label} is out of range`)
  return amount
}

/** Optional free text (references, keys), trimmed; empty means absent. */
export function optionalText(value: unknown, label: string, max: number): string | null {
  if (value === undefined || value === null) return null
  if (typeof value !== 'string') throw new CreditsInputException(`${label} must be text`)
  const text = value.trim()
  if (text.length > max)
    throw new CreditsInputException(`${label} must be at most ${max} characters`)
  return text || null
}

export function requiredText(value: unknown, label: string, max: number): string {
  const text = optionalText(value, label, max)
  if (!text) throw new CreditsInputException(`${label} is required`)
  return text
}
