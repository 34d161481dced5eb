import db from '@adonisjs/lucid/services/db'
import { lockAccount, moveAccount, tenantTransaction, sql } from '#credits/services/accounts'

/**
 * The sweeper: expires pending holds whose expiry has passed by DATABASE time (a crashed run
 * never settles), returning their credits to available. Safe to run in several processes at
 * once: each tenant is swept under its account lock and only still-pending rows move.
 * Returns how many holds it expired.
 */
export async function expireStaleHolds(): Promise<number> {
  const { rows } = await sql(
    db,
    `SELECT DISTINCT tenant_id FROM credit_holds WHERE status = 'pending' AND expires_at <= now()`
  )
  let expired = 0
  for (const row of rows) expired += await expireTenantHolds(row.tenant_id)
  return expired
}

/** Holds expired per transaction: the account lock is held briefly even after a mass crash. */
const CHUNK = 5000

async function expireTenantHolds(tenantId: string) {
  let total = 0
  for (;;) {
    const expired = await tenantTransaction(tenantId, async (trx) => {
      const account = await lockAccount(trx, tenantId)
      const { rows } = await sql(
        trx,
        `UPDATE credit_holds SET status = 'expired', resolved_at = now()
          WHERE id IN (SELECT id FROM credit_holds
                        WHERE tenant_id = ? AND status = 'pending' AND expires_at <= now() LIMIT ${CHUNK})
            AND status = 'pending'
         RETURNING amount`,
        [tenantId]
      )
      const freed = rows.reduce((sum: bigint, row: any) => sum + BigInt(row.amount), 0n)
      if (freed > 0n)
        await moveAccount(
          trx,
          tenantId,
          { balance: 0n, held: -freed },
          { balance: account.balance, held: account.held - freed }
        )
      return rows.length
    })
    total += expired
    if (expired < CHUNK) return total
  }
}
