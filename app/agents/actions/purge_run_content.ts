import logger from '@adonisjs/core/services/logger'
import { Tenant, withTenant } from '#tenants'

const BATCH = 500
const FINISHED = ['succeeded', 'failed', 'cancelled']

export type RetentionOutcome = { tenantId: string; slug: string; runs: number }

/**
 * Retention: for every workspace that keeps run content a limited time (30, 90 or 365 days),
 * erases what finished runs older than that were sent and answered — the run's input and
 * output, its steps' inputs and outputs, its thread messages, its stored stream and the output
 * an evaluation case recorded — in
 * batches, each one transaction bound to the tenant. Usage, cost, status, timings, the ledger
 * and the analytics rollups stay. Erasing twice is a no-op (content_purged_at).
 */
export async function purgeExpiredRunContent(now = new Date()): Promise<RetentionOutcome[]> {
  const outcomes: RetentionOutcome[] = []
  const tenants = await Tenant.query()
    .whereNotNull('runRetentionDays')
    .select('id', 'slug', 'runRetentionDays')
  for (const tenant of tenants) {
    const cutoff = new Date(now.getTime() - tenant.runRetentionDays! * 86_400_000)
    let total = 0
    for (;;) {
      const purged = await withTenant(tenant.id, async (trx) => {
        const { rows } = await trx.rawQuery(
          `SELECT id FROM runs
            WHERE tenant_id = ? AND content_purged_at IS NULL AND created_at < ?
              AND status = ANY(?::text[])
            ORDER BY created_at LIMIT ?`,
          [tenant.id, cutoff, FINISHED, BATCH]
        )
        const ids = rows.map((row: { id: string }) => row.id)
        if (!ids.length) return 0
        await trx.rawQuery(
          `UPDATE runs SET input = '', output = '', content_purged_at = now()
            WHERE tenant_id = ? AND id = ANY(?::uuid[])`,
          [tenant.id, ids]
        )
        await trx.rawQuery(
          `UPDATE run_steps SET input = NULL, output = NULL WHERE tenant_id = ? AND run_id = ANY(?::uuid[])`,
          [tenant.id, ids]
        )
        await trx.rawQuery(
          `UPDATE messages SET content = '' WHERE tenant_id = ? AND run_id = ANY(?::uuid[])`,
          [tenant.id, ids]
        )
        await trx.rawQuery(
          `DELETE FROM run_events WHERE tenant_id = ? AND run_id = ANY(?::uuid[])`,
          [tenant.id, ids]
        )
        // An evaluation case keeps its verdict; the output it judged goes with the run's.
        await trx.rawQuery(
          `UPDATE eval_results SET output = '' WHERE tenant_id = ? AND run_id = ANY(?::uuid[])`,
          [tenant.id, ids]
        )
        return ids.length
      })
      total += purged
      if (purged < BATCH) break
    }
    if (total) {
      logger.info({ tenant: tenant.slug, runs: total }, 'erased expired run content')
      outcomes.push({ tenantId: tenant.id, slug: tenant.slug, runs: total })
    }
  }
  return outcomes
}
