import { DateTime } from 'luxon'
import db from '@adonisjs/lucid/services/db'
import logger from '@adonisjs/core/services/logger'
import type { EventStream } from '#core'
import Run, { TERMINAL } from '#agents/models/run'
import { executeRun, abortLocalRun, type ExecutionPlan } from '#agents/services/run_executor'
import { onRunEvent, storedEvents, type RunEvent } from '#agents/services/run_events'

/** Runs a prepared plan in the background (async runs); any failure still ends the run. */
export function runInBackground(plan: ExecutionPlan) {
  setImmediate(async () => {
    try {
      await db.from('runs').where('id', plan.run.id).update({ status: 'running', started_at: new Date() })
      plan.run.status = 'running'
      await executeRun(plan)
    } catch (error) {
      logger.error({ err: error, run_id: plan.run.id }, 'background run crashed')
    }
  })
}

/**
 * Streams a run's events to an SSE client, strictly in sequence: stored events after `afterSeq`
 * (replay, Last-Event-ID) merged with live ones from this process; a run executing in another
 * process is followed through the rows it writes. Closes after the terminal event.
 */
export async function followRun(tenantId: string, runId: string, afterSeq: number, stream: EventStream) {
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
    return false
  }
  const unsubscribe = onRunEvent(runId, (event) => {
    add(event)
    wake?.()
  })
  try {
    for (let idle = 0; !stream.closed; ) {
      if (drain()) return
      for (const event of await storedEvents(tenantId, runId, last)) add(event)
      if (drain()) return
      if (++idle % 25 === 0) {
        const run = await Run.query().where('tenantId', tenantId).where('id', runId).select('status').first()
        if (!run) return
        // A run that ended without a terminal event (its process died): nothing more will come.
        if (TERMINAL.includes(run.status) && (await storedEvents(tenantId, runId, last)).length === 0) return
      }
      await new Promise<void>((resolve) => {
        wake = resolve
        setTimeout(resolve, 200)
      })
      wake = null
    }
  } finally {
    unsubscribe()
    stream.close()
  }
}

/** Asks a run to stop: this process aborts at once, others notice the flag within 0.5 s. */
export async function requestCancellation(run: Run) {
  if (run.terminal) return false
  await db.from('runs').where('id', run.id).whereNull('cancel_requested_at').update({ cancel_requested_at: new Date() })
  abortLocalRun(run.id)
  return true
}

/**
 * Ends runs stuck in `running` or `queued` past RUN_TIMEOUT_S (their process died): they become
 * `failed`; their holds are expired by the credits sweeper.
 */
export async function failStaleRuns() {
  const cutoff = DateTime.now().minus({ seconds: Number(process.env.RUN_TIMEOUT_S ?? 300) + 30 })
  return db
    .from('runs')
    .whereIn('status', ['running', 'queued'])
    .where('created_at', '<', cutoff.toJSDate())
    .update({
      status: 'failed',
      finished_at: new Date(),
      error: JSON.stringify({ type: '/problems/run-abandoned', title: 'Run abandoned', status: 500, detail: 'The process running it stopped.' }),
    })
}
