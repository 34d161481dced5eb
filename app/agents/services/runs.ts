import { DateTime } from 'luxon'
import db from '@adonisjs/lucid/services/db'
import { withTenant } from '#tenants'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import app from '@adonisjs/core/services/app'
import logger from '@adonisjs/core/services/logger'
import { vectorSearchAvailable } from '#agents/knowledge/embeddings'
import { recoverStaleDocuments } from '#agents/actions/manage_documents'
import { recoverStaleEvaluations } from '#agents/actions/evaluations'
import { bus, inBackground, problem, PROCESS_ID, type EventStream } from '#core'
import { release } from '#credits'
import { releaseIdempotencyKeysOf } from '#platform'
import Run, { TERMINAL } from '#agents/models/run'
import {
  abortAllLocalRuns,
  abortLocalRun,
  executingRunIds,
  isLocalRun,
  localRunCount,
  runsIdle,
  runTimeoutMs,
} from '#agents/services/run_executor'
import {
  followFromAfar,
  lastStoredSeq,
  listenForFollowers,
  onRunEvent,
  runTopic,
  storedEvents,
  writeEvents,
  type RunEvent,
} from '#agents/services/run_events'
import {
  markStopping,
  mayJudgeOwners,
  OWNER_DEAD_AFTER_S,
  startOwnerHeartbeat,
  stopOwnerHeartbeat,
} from '#agents/services/run_owners'
import {
  dispatchRun,
  stopAcceptingRuns,
  stopWatchingWorkers,
  watchForWorkers,
} from '#agents/services/run_queue'
import { runMetrics } from '#agents/services/run_metrics'
import { runErrorType } from '#agents/services/error_types'
import RunFinished from '#agents/events/run_finished'
import { serializeRun } from '#agents/dtos/run'

const CANCEL_TOPIC = 'runs:cancel'
/** A follower re-reads stored events this often even without a bus message (lost hints heal). */
const FOLLOW_RECHECK_MS = 2_000
const RECOVER_EVERY_MS = Math.min(10_000, (OWNER_DEAD_AFTER_S * 1000) / 2)

/**
 * Streams a run's events to an SSE client, strictly in sequence: stored events after `afterSeq`
 * (replay, Last-Event-ID), then live ones — from this process directly, from others through
 * the bus (a hint that new events are stored). Closes after the terminal event, or when the
 * run ended without one. Never throws: a database failure ends the stream with an `error` event.
 */
export async function followRun(
  tenantId: string,
  runId: string,
  afterSeq: number,
  stream: EventStream
) {
  let last = afterSeq
  const pending = new Map<number, RunEvent>()
  let wake: (() => void) | null = null
  const add = (event: RunEvent) => {
    if (event.seq > last) pending.set(event.seq, event)
  }
  /** Sends every consecutive event available; true once the terminal one is sent. */
  const drain = () => {
    while (pending.has(last + 1)) {
      const event = pending.get(last + 1)!
      pending.delete(event.seq)
      last = event.seq
      stream.send(event.event, event.data, event.seq)
      if (event.event === 'done' || event.event === 'error') return true
    }
    // The outcome could not be written, nor the unwritten events before it: end with it anyway.
    const unstored = [...pending.values()].find((event) => event.unstored)
    if (unstored) {
      stream.send(unstored.event, unstored.data, unstored.seq)
      return true
    }
    return false
  }
  const unsubscribe = onRunEvent(runId, (event) => {
    add(event)
    wake?.()
  })
  let hinted = true
  const unhint = bus.subscribe(runTopic(runId), () => {
    hinted = true
    wake?.()
  })
  // Executing elsewhere (or not yet started): ask its process to announce new events.
  const remote = () => !isLocalRun(runId) && void followFromAfar(runId)
  remote()
  try {
    for (let failures = 0; !stream.closed;) {
      if (drain()) return
      try {
        if (hinted || pending.size) {
          hinted = false
          for (const event of await storedEvents(tenantId, runId, last)) add(event)
          if (drain()) return
          // A run that ended without a terminal event (recovered without one): nothing more will come.
          if (!pending.size) {
            const run = await Run.query()
              .where('tenantId', tenantId)
              .where('id', runId)
              .select('status')
              .first()
            if (!run) return
            if (TERMINAL.includes(run.status)) {
              for (const event of await storedEvents(tenantId, runId, last)) add(event)
              drain()
              return
            }
          }
        }
        failures = 0
      } catch (error) {
        if (++failures >= 5) {
          logger.warn({ err: error, run_id: runId }, 'following a run failed; ending the stream')
          stream.send(
            'error',
            problem(
              503,
              'The run could not be followed; reconnect with Last-Event-ID to resume.',
              {}
            )
          )
          return
        }
      }
      await new Promise<void>((resolve) => {
        wake = resolve
        setTimeout(() => {
          hinted = true
          remote()
          resolve()
        }, FOLLOW_RECHECK_MS).unref()
      })
      wake = null
    }
  } catch (error) {
    logger.error({ err: error, run_id: runId }, 'following a run crashed')
  } finally {
    unsubscribe()
    unhint()
    stream.close()
  }
}

/** Asks a run to stop: its owner aborts at once (here, or through the bus), or notices the flag. */
export async function requestCancellation(run: Run) {
  if (run.terminal) return false
  await db
    .from('runs')
    .where('id', run.id)
    .where('tenant_id', run.tenantId)
    .whereNull('cancel_requested_at')
    .update({ cancel_requested_at: new Date() })
  if (run.status === 'queued') await endRun(run.id, run.tenantId, 'cancelled', null)
  abortLocalRun(run.id)
  await bus.publish(CANCEL_TOPIC, run.id)
  return true
}

/**
 * Ends runs whose owner process died (no heartbeat for OWNER_DEAD_AFTER_S) or that outlived
 * RUN_TIMEOUT_S (runs without an owner — started by a version before owners, during a rolling
 * deploy — only by the timeout), and queued runs no worker took in that time. A run that produced no output yet
 * is handed back to the queue once; the others end `failed`. Each recovery releases the run's
 * hold, writes its terminal event and frees its idempotency key in one transaction, then
 * emits RunFinished — exactly once, since only an unfinished run moves. Safe in every process.
 */
export async function recoverAbandonedRuns() {
  const timeoutS = Math.ceil(runTimeoutMs() / 1000)
  // This process's own orphans too: runs it owns but no longer executes (their outcome could
  // not be written); they end at once, never requeued (their caller was already answered).
  const { rows } = await db.rawQuery(
    `SELECT r.id, r.tenant_id, r.status, r.attempts,
            (r.started_at < now() - make_interval(secs => ?)) AS timed_out,
            (r.owner = ?) AS orphan,
            EXISTS (SELECT 1 FROM run_events e WHERE e.run_id = r.id AND e.event IN ('delta', 'step')) AS produced
       FROM runs r
      WHERE r.status IN ('queued', 'running')
        AND (
          (r.status = 'running' AND (r.started_at < now() - make_interval(secs => ?)
            OR (? AND r.owner IS NOT NULL AND r.owner <> ? AND NOT EXISTS (
                  SELECT 1 FROM run_owners o WHERE o.id = r.owner AND o.seen_at > now() - make_interval(secs => ?)))
            OR (r.owner = ? AND r.started_at < now() - interval '5 seconds' AND NOT (r.id = ANY(?::uuid[])))))
          OR (r.status = 'queued' AND r.created_at < now() - make_interval(secs => ?))
        )
      LIMIT 200`,
    [
      timeoutS + 15,
      PROCESS_ID,
      timeoutS + 15,
      mayJudgeOwners(),
      PROCESS_ID,
      OWNER_DEAD_AFTER_S,
      PROCESS_ID,
      `{${executingRunIds().join(',')}}`,
      timeoutS + 30,
    ]
  )
  let ended = 0
  for (const row of rows) {
    try {
      if (
        row.status === 'running' &&
        !row.orphan &&
        !row.timed_out &&
        !row.produced &&
        row.attempts < 2
      ) {
        const requeued = await db
          .from('runs')
          .where('id', row.id)
          .where('status', 'running')
          .update({ status: 'queued', owner: null })
        if (Number(requeued)) await dispatchRun({ id: row.id, tenantId: row.tenant_id })
        continue
      }
      const detail =
        row.status === 'queued'
          ? 'No worker took the run in time.'
          : row.timed_out
            ? `The run exceeded ${timeoutS} s.`
            : row.orphan
              ? 'The run finished but its outcome could not be recorded; it was not charged.'
              : 'The process running it stopped.'
      if (
        await endRun(
          row.id,
          row.tenant_id,
          'failed',
          problem(500, detail, { title: 'Run abandoned' })
        )
      )
        ended++
    } catch (error) {
      logger.error({ err: error, run_id: row.id }, 'recovering an abandoned run failed')
    }
  }
  return ended
}

/**
 * Ends an unfinished run that nobody is executing (`failed` after a crash, `cancelled` while
 * queued): the run, its terminal event and the release of its hold commit together.
 */
async function endRun(
  runId: string,
  tenantId: string,
  status: 'failed' | 'cancelled',
  error: Record<string, unknown> | null
) {
  const run = await Run.query().where('tenantId', tenantId).where('id', runId).first()
  if (!run || run.terminal) return false
  const errorType = runErrorType(status, error)
  let moved = false
  const write = async (trx: TransactionClientContract) => {
    const updated = await trx
      .from('runs')
      .where('id', runId)
      .where('tenant_id', tenantId)
      .whereIn('status', ['queued', 'running'])
      .update({
        status,
        finished_at: new Date(),
        error: error ? JSON.stringify(error) : null,
        error_type: errorType,
        cost_micros: 0,
      })
    moved = Number(updated) === 1
    if (!moved) throw new Error(`run ${runId} finished meanwhile`)
    run.merge({ status, error, errorType, costMicros: 0n, finishedAt: DateTime.now() })
    const seq = (await lastStoredSeq(trx, tenantId, runId)) + 1
    const dto = await serializeRun(run, { steps: false })
    await writeEvents(trx, tenantId, runId, [
      status === 'failed'
        ? { seq, event: 'error', data: { ...error, run: dto } }
        : { seq, event: 'done', data: dto },
    ])
    await releaseIdempotencyKeysOf(tenantId, [`run:${runId}`], trx)
  }
  try {
    const hold = await release(run.holdId!, { tenantId, within: write })
    // Released earlier (the credits sweeper expired it): end the run on its own.
    if (!moved && hold.status !== 'pending') await withTenant(tenantId, write)
  } catch (failure) {
    if (!moved) return false
    throw failure
  }
  if (!moved) return false
  inBackground(bus.publish(runTopic(runId), 'end'), 'announcing the end of a run')
  runMetrics.finished(run)
  await RunFinished.dispatch(RunFinished.factsOf(run)).catch((error) =>
    logger.error({ err: error, run_id: runId }, 'a RunFinished listener failed')
  )
  return true
}

/** Ends a run that will not execute (it could not be queued): `failed`, hold released, key freed. */
export async function abandonRun(run: Pick<Run, 'id' | 'tenantId'>, detail: string) {
  const ended = await endRun(
    run.id,
    run.tenantId,
    'failed',
    problem(503, detail, { title: 'Run not started' })
  )
  if (!ended) await releaseIdempotencyKeysOf(run.tenantId, [`run:${run.id}`])
}

let recoverTimer: NodeJS.Timeout | null = null
let started = false

/**
 * Starts the run engine in a web or worker process: the owner heartbeat, cancellation through
 * the bus, recovery of abandoned runs, the queue (worker processes always; web processes while
 * no worker is alive), and draining on shutdown: stop taking runs, let in-flight runs finish for
 * SHUTDOWN_GRACE_S (25 s), then end the rest (their holds settle for what was used).
 */
export async function startRunEngine(kind: 'web' | 'worker') {
  if (started) return
  started = true
  await startOwnerHeartbeat(kind)
  bus.subscribe(CANCEL_TOPIC, (runId) => abortLocalRun(runId))
  listenForFollowers()
  const recover = async () => {
    try {
      const ended = await recoverAbandonedRuns()
      if (ended) logger.warn({ runs: ended }, 'ended abandoned runs')
      const requeued = await recoverStaleDocuments()
      if (requeued) logger.warn({ documents: requeued }, 'queued stalled documents again')
      // A case is one run: an evaluation that recorded none for longer than a run may take stopped.
      const evaluations = await recoverStaleEvaluations(runTimeoutMs() / 1000 + 60)
      if (evaluations) logger.warn({ evaluations }, 'recovered stalled evaluations')
    } catch (error) {
      logger.error({ err: error }, 'recovering abandoned runs failed')
    }
  }
  inBackground(recover(), 'recovering abandoned runs')
  recoverTimer = setInterval(
    () => inBackground(recover(), 'recovering abandoned runs'),
    RECOVER_EVERY_MS
  )
  recoverTimer.unref()
  if (kind === 'web') watchForWorkers()
  inBackground(announceSearchMode(), 'checking for pgvector')
}

/** Says at boot when knowledge search is full-text only (no pgvector on this database). */
async function announceSearchMode() {
  if (!(await vectorSearchAvailable()))
    logger.warn(
      'pgvector is not installed on this database: knowledge search uses full-text only, ' +
        'without vector similarity'
    )
}

/** Drains this process (SIGTERM): see startRunEngine. */
export async function drainRuns(graceMs = Number(process.env.SHUTDOWN_GRACE_S ?? 25) * 1000) {
  stopAcceptingRuns()
  if (recoverTimer) clearInterval(recoverTimer)
  recoverTimer = null
  // The grace period starts now; stopping the queue worker must not eat into it or hang.
  const grace = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), graceMs).unref())
  await Promise.race([Promise.all([markStopping(), stopWatchingWorkers()]), grace])
  if (localRunCount()) {
    logger.info({ runs: localRunCount(), grace_ms: graceMs }, 'draining in-flight runs')
    if ((await Promise.race([runsIdle().then(() => 'idle' as const), grace])) === 'late') {
      logger.warn(
        { runs: localRunCount() },
        'shutdown grace period over: ending the remaining runs'
      )
      abortAllLocalRuns('shutdown')
    }
  }
  await runsIdle()
  await stopOwnerHeartbeat()
}

/** Registers the drain so it runs before the HTTP server waits for its open streams. */
export function drainOnShutdown() {
  inBackground(
    app.ready(() => {
      app.terminating(() => drainRuns())
    }),
    'registering the drain'
  )
}
