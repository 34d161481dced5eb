import db from '@adonisjs/lucid/services/db'
import { HoldNotFoundException } from '#credits/errors'
import { assertUuid } from '#credits/services/accounts'

/** A hold given by id, or as the object hold() returned (which also names its tenant). */
export type HoldRef = string | { id: string; tenantId: string }

/**
 * Which tenant's queue a hold operation belongs to. Holds placed by this process are
 * remembered (bounded), so settling them costs no lookup; others are looked up once.
 */
const known = new Map<string, string>()
const KNOWN_LIMIT = 50_000

export function rememberHold(hold: { id: string; tenantId: string }) {
  if (known.size >= KNOWN_LIMIT) known.delete(known.keys().next().value!)
  known.set(hold.id, hold.tenantId)
}

export async function resolveHold(
  ref: HoldRef,
  tenantId?: string | null
): Promise<{ holdId: string; tenantId: string }> {
  const holdId = typeof ref === 'string' ? ref : ref?.id
  assertUuid(holdId, 'holdId')
  if (tenantId) {
    assertUuid(tenantId, 'tenantId')
    return { holdId, tenantId }
  }
  if (typeof ref === 'object' && ref.tenantId) return { holdId, tenantId: ref.tenantId }
  const cached = known.get(holdId)
  if (cached) return { holdId, tenantId: cached }
  const row = await db.from('credit_holds').where('id', holdId).select('tenant_id').first()
  if (!row) throw new HoldNotFoundException(holdId)
  return { holdId, tenantId: row.tenant_id }
}
