import { withTenant } from '#tenants'
import { formatCredits } from '#core'
import { recordAudit } from '#platform'
import {
  appendEntry,
  assertUuid,
  ENTRY_COLUMNS,
  entryByKey,
  lockAccount,
  micros,
  optionalText,
  optionalUuid,
  requiredText,
  toEntry,
  sql,
} from '#credits/services/accounts'
import { CreditsInputException, IdempotencyConflictException } from '#credits/errors'
import type { EntryResult } from '#credits/types'

export type RefundInput = {
  tenantId: string
  /** The charge entry to refund. */
  chargeId: string
  /** Defaults to everything not refunded yet. */
  amount?: bigint | number | null
  reason: string
  idempotencyKey?: string | null
  actorId?: string | null
  actorLabel?: string | null
}

/**
 * Gives back (part of) a charge as a `refund` entry linked to the same hold, audited. The
 * refunds of a charge never add up to more than the charge.
 */
export async function refundCharge(input: RefundInput): Promise<EntryResult> {
  assertUuid(input?.tenantId, 'tenantId')
  assertUuid(input.chargeId, 'chargeId')
  const requested =
    input.amount === undefined || input.amount === null
      ? null
      : micros(input.amount, 'amount', 'positive')
  const reason = requiredText(input.reason, 'reason', 500)
  const key = optionalText(input.idempotencyKey, 'idempotencyKey', 255)
  const actorId = optionalUuid(input.actorId, 'actorId')
  return withTenant(input.tenantId, async (trx) => {
    const account = await lockAccount(trx, input.tenantId)
    const { rows } = await sql(
      trx,
      `SELECT ${ENTRY_COLUMNS} FROM ledger_entries WHERE tenant_id = ? AND id = ? AND kind = 'charge'`,
      [input.tenantId, input.chargeId]
    )
    if (!rows.length) throw new CreditsInputException(`charge ${input.chargeId} not found`)
    const charge = toEntry(rows[0])
    const existing = await entryByKey(trx, input.tenantId, key)
    if (existing) {
      if (
        existing.kind !== 'refund' ||
        existing.holdId !== charge.holdId ||
        (requested !== null && existing.amount !== requested)
      )
        throw new IdempotencyConflictException(key!)
      return { entry: existing, replayed: true }
    }
    const refunded = await sql(
      trx,
      `SELECT COALESCE(SUM(amount), 0) AS total FROM ledger_entries
        WHERE tenant_id = ? AND hold_id = ? AND kind = 'refund'`,
      [input.tenantId, charge.holdId]
    )
    const refundable = -charge.amount - BigInt(refunded.rows[0].total)
    const amount = requested ?? refundable
    if (amount <= 0n || amount > refundable) {
      throw new CreditsInputException(
        `at most ${formatCredits(refundable)} credits of this charge can still be refunded`
      )
    }
    const entry = await appendEntry(
      trx,
      { ...account, tenantId: input.tenantId },
      {
        kind: 'refund',
        amount,
        reference: reason,
        idempotencyKey: key,
        actorId,
        memberId: charge.memberId,
        agentId: charge.agentId,
        holdId: charge.holdId,
      }
    )
    await recordAudit(
      {
        action: 'credits.refund.created',
        actorId,
        actorLabel: optionalText(input.actorLabel, 'actorLabel', 254),
        tenantId: input.tenantId,
        subjectType: 'ledger_entry',
        subjectId: entry.id,
        changes: {
          amount: formatCredits(amount),
          charge_id: charge.id,
          balance_after: formatCredits(entry.balanceAfter),
          reason,
        },
      },
      trx
    )
    return { entry, replayed: false }
  })
}
