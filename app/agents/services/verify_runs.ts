import { formatCredits } from '#core'
import { holdCharges } from '#credits'
import { Tenant } from '#tenants'
import Run from '#agents/models/run'
import { runTimeoutMs } from '#agents/services/run_executor'

const PAGE = 1000
const LIMIT = 200

/**
 * Runs against the ledger (part of credits:verify): a finished run's cost is what its hold was
 * charged and its hold is resolved; an unfinished run's hold is still pending and no older than
 * RUN_TIMEOUT_S + 60 s. Reads its own runs a page at a time and asks credits about their holds.
 * One line per disagreement.
 */
export async function verifyRunCharges(tenantId: string | null): Promise<string[]> {
  const overdueBefore = Date.now() - (runTimeoutMs() + 60_000)
  const found: { run: Run; problem: string }[] = []
  for (let after: string | null = null; found.length < LIMIT;) {
    const query = Run.query()
      .whereNotNull('holdId')
      .orderBy('id')
      .limit(PAGE)
      .select('id', 'tenantId', 'status', 'costMicros', 'holdId', 'startedAt', 'createdAt')
    if (tenantId) query.where('tenantId', tenantId)
    if (after) query.where('id', '>', after)
    const runs = await query
    if (!runs.length) break
    after = runs.at(-1)!.id
    const holds = await holdCharges(runs.map((run) => run.holdId!))
    for (const run of runs) {
      const problem = disagreement(run, holds.get(run.holdId!), overdueBefore)
      if (problem) found.push({ run, problem })
    }
  }
  const slugs = new Map(
    (
      await Tenant.query()
        .whereIn('id', [...new Set(found.map((f) => f.run.tenantId))])
        .select('id', 'slug')
    ).map((t) => [t.id, t.slug])
  )
  return found
    .slice(0, LIMIT)
    .map(
      ({ run, problem }) => `${slugs.get(run.tenantId) ?? run.tenantId}: run ${run.id} ${problem}`
    )
}

function disagreement(
  run: Run,
  hold: { tenantId: string; status: string; charged: bigint } | undefined,
  overdueBefore: number
) {
  if (!hold || hold.tenantId !== run.tenantId) return 'refers to no hold of its workspace'
  if (run.status === 'queued' || run.status === 'running') {
    if ((run.startedAt ?? run.createdAt).toMillis() < overdueBefore)
      return `is still ${run.status} with credits held past RUN_TIMEOUT_S + 60 s`
    return hold.status === 'pending' ? null : `is ${run.status} but its hold is ${hold.status}`
  }
  if (hold.status === 'pending') return `is ${run.status} but its hold is still pending`
  if (run.costMicros !== hold.charged)
    return (
      `is ${run.status} at a cost of ${formatCredits(run.costMicros)} ` +
      `but the ledger charged ${formatCredits(hold.charged)}`
    )
  return null
}
