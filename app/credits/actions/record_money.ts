import { withTenant } from '#tenants'
import { formatCredits } from '#core'
import { recordAudit } from '#platform'
import {
  appendEntry,
  assertUuid,
  entryByKey,
  lockAccount,
  micros,
  optionalText,
  optionalUuid,
  requiredText,
} from '#credits/services/accounts'
import { IdempotencyConflictException, InsufficientCreditsException } from '#credits/errors'
import type { EntryResult, LedgerKind } from '#credits/types'

/** What callers of grant() and adjust() pass. */
export type MoneyInput = {
  tenantId: string
  amount: bigint | number
  reason: string
  idempotencyKey?: string | null
  actorId?: string | null
  /** Who did it when there is no user (e.g. 'cli'). */
  actorLabel?: string | null
}

/** Checks a grant's or adjustment's arguments (the amount by `rule`). */
export function moneyWrite(
  kind: MoneyWrite['kind'],
  input: MoneyInput,
  rule: 'positive' | 'non-zero'
): MoneyWrite {
  assertUuid(input?.tenantId, 'tenantId')
  return {
    tenantId: input.tenantId,
    kind,
    amount: micros(input.amount, 'amount', rule),
    reason: requiredText(input.reason, 'reason', 500),
    idempotencyKey: optionalText(input.idempotencyKey, 'idempotencyKey', 255),
    actorId: optionalUuid(input.actorId, 'actorId'),
    actorLabel: optionalText(input.actorLabel, 'actorLabel', 254),
  }
}

export type MoneyWrite = {
  tenantId: string
  kind: Extract<LedgerKind, 'grant' | 'adjustment' | 'purchase' | 'allowance'>
  amount: bigint
  reason: string
  idempotencyKey: string | null
  actorId: string | null
  actorLabel: string | null
}

/**
 * Grants and adjustments: lock the account, replay a reused idempotency key, refuse to take
 * available below zero, append the entry and audit it, all in one transaction bound to the
 * tenant (row-level security).
 */
export async function recordMoney(write: MoneyWrite): Promise<EntryResult> {
  return withTenant(write.tenantId, async (trx) => {
    const account = await lockAccount(trx, write.tenantId)
    const existing = await entryByKey(trx, write.tenantId, write.idempotencyKey)
    if (existing) {
      if (existing.kind !== write.kind || existing.amount !== write.amount)
        throw new IdempotencyConflictException(write.idempotencyKey!)
      return { entry: existing, replayed: true }
    }
    const available = account.balance - account.held
    if (write.amount < 0n && available + write.amount < 0n)
      throw new InsufficientCreditsException(-write.amount, available)
    const entry = await appendEntry(
      trx,
      { ...account, tenantId: write.tenantId },
      {
        kind: write.kind,
        amount: write.amount,
        reference: write.reason,
        idempotencyKey: write.idempotencyKey,
        actorId: write.actorId,
      }
    )
    await recordAudit(
      {
        action: `credits.${write.kind}.created`,
        actorId: write.actorId,
        actorLabel: write.actorLabel,
        tenantId: write.tenantId,
        subjectType: 'ledger_entry',
        subjectId: entry.id,
        changes: {
          amount: formatCredits(entry.amount),
          balance_after: formatCredits(entry.balanceAfter),
          reason: write.reason,
        },
      },
      trx
    )
    return { entry, replayed: false }
  })
}
