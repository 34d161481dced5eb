import {
  applyHoldBatch,
  type HoldOp,
  type NewHoldOp,
  type Outcome,
} from '#credits/actions/apply_hold_batch'
import { admitHoldBatch } from '#credits/actions/admit_hold_batch'
import db from '@adonisjs/lucid/services/db'
import { writeSettings } from '#credits/services/accounts'
import { inBackground } from '#core'

type Job = { op: HoldOp; resolve: (value: any) => void; reject: (error: unknown) => void }
type Queue = { jobs: Job[] }

/**
 * Per-tenant group commit. A tenant's hold operations are queued in this process; while one
 * batch transaction of that tenant (and lane) runs, new requests wait and then go together in
 * the next batch. One hot row thus costs one lock and one commit per batch instead of per hold, while
 * other tenants' queues run in parallel on other connections. Across processes the account row
 * lock (see lockAccount) serialises batches, so correctness never depends on this queue.
 */
const queues = new Map<string, Queue>()

export function enqueueHoldOp<T>(tenantId: string, op: HoldOp): Promise<T> {
  // Two lanes per tenant: new holds (and extensions, which need available credits) and
  // resolutions (settle, release). A run's hold never waits behind another run's settlement in
  // this process; in the database the account row lock orders the two lanes.
  // (Inside one shared transaction — the test suite's — everything stays in one lane: two
  // lanes would interleave savepoints on its single connection.)
  const resolving =
    (op.kind === 'settle' || op.kind === 'release') && !db.connection().isTransaction
  const lane = `${tenantId}:${resolving ? 'resolve' : 'admit'}`
  return new Promise<T>((resolve, reject) => {
    const queue = queues.get(lane)
    if (queue) {
      queue.jobs.push({ op, resolve, reject })
      return
    }
    const fresh: Queue = { jobs: [{ op, resolve, reject }] }
    queues.set(lane, fresh)
    // One turn of the event loop lets callers of the same tick share the first batch.
    setImmediate(() => inBackground(drain(tenantId, lane, fresh), 'a credit hold batch'))
  })
}

async function drain(tenantId: string, lane: string, queue: Queue) {
  while (queue.jobs.length) {
    await run(tenantId, queue.jobs.splice(0, writeSettings.maxBatch))
  }
  queues.delete(lane)
}

/** Runs a batch; if the transaction itself fails, retries its ops one by one so only the culprit fails. */
async function run(tenantId: string, jobs: Job[]) {
  try {
    const ops = jobs.map((job) => job.op)
    const newHolds = ops.filter((op): op is NewHoldOp => op.kind === 'hold')
    const admitted =
      writeSettings.fastPath && newHolds.length === ops.length
        ? await admitHoldBatch(tenantId, newHolds)
        : null
    const outcomes: Outcome[] = admitted ?? (await applyHoldBatch(tenantId, ops))
    outcomes.forEach((outcome, index) =>
      outcome.ok ? jobs[index].resolve(outcome.value) : jobs[index].reject(outcome.error)
    )
  } catch (error) {
    if (jobs.length === 1) return jobs[0].reject(error)
    for (const job of jobs) await run(tenantId, [job])
  }
}
