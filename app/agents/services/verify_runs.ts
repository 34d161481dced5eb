import db from '@adonisjs/lucid/services/db'
import { formatCredits } from '#core'
import { runTimeoutMs } from '#agents/services/run_executor'

const LIMIT = 200

/**
 * Runs against the ledger (part of credits:verify): a finished run's cost is what its hold was
 * charged and its hold is resolved; an unfinished run's hold is still pending and no older than
 * RUN_TIMEOUT_S + 60 s. One line per disagreement.
 */
export async function verifyRunCharges(tenantId: string | null): Promise<string[]> {
  const { rows } = await db.rawQuery(
    `WITH charges AS (
        SELECT tenant_id, hold_id, SUM(-amount) AS total FROM ledger_entries
         WHERE kind = 'charge' AND hold_id IS NOT NULL ${tenantId ? 'AND tenant_id = ?' : ''} GROUP BY tenant_id, hold_id
     )
     SELECT r.id, r.status, r.cost_micros, h.id AS hold, h.status AS hold_status, COALESCE(c.total, 0) AS charged,
            r.status IN ('queued', 'running') AND COALESCE(r.started_at, r.created_at) < now() - make_interval(secs => ?) AS overdue,
            COALESCE(t.slug, r.tenant_id::text) AS label
       FROM runs r
       LEFT JOIN credit_holds h ON h.id = r.hold_id AND h.tenant_id = r.tenant_id
       LEFT JOIN charges c ON c.hold_id = r.hold_id AND c.tenant_id = r.tenant_id
       LEFT JOIN tenants t ON t.id = r.tenant_id
      WHERE r.hold_id IS NOT NULL ${tenantId ? 'AND r.tenant_id = ?' : ''} AND (
            h.id IS NULL
         OR (r.status IN ('succeeded', 'failed', 'cancelled') AND (h.status = 'pending' OR r.cost_micros <> COALESCE(c.total, 0)))
         OR (r.status IN ('queued', 'running') AND (h.status <> 'pending' OR COALESCE(r.started_at, r.created_at) < now() - make_interval(secs => ?))))
      ORDER BY r.created_at
      LIMIT ${LIMIT}`,
    [...(tenantId ? [tenantId] : []), Math.ceil(runTimeoutMs() / 1000) + 60, ...(tenantId ? [tenantId] : []), Math.ceil(runTimeoutMs() / 1000) + 60]
  )
  return rows.map((row: Record<string, any>) => {
    const run = `${row.label}: run ${row.id}`
    if (!row.hold) return `${run} refers to no hold`
    if (row.overdue) return `${run} is still ${row.status} with credits held past RUN_TIMEOUT_S + 60 s`
    if (row.status === 'queued' || row.status === 'running') return `${run} is ${row.status} but its hold is ${row.hold_status}`
    if (row.hold_status === 'pending') return `${run} is ${row.status} but its hold is still pending`
    return `${run} is ${row.status} at a cost of ${formatCredits(row.cost_micros)} but the ledger charged ${formatCredits(row.charged)}`
  })
}
