import app from '@adonisjs/core/services/app'
import logger from '@adonisjs/core/services/logger'
import type { RunFacts } from '#agents'
import { projectFacts } from '#analytics/services/projector'
import { dashboardCacheCounters } from '#analytics/services/cache'
import { inBackground } from '#core'

/** A finished run reaches the dashboards within about this (the goal is ≤ 5 s). */
export const FLUSH_EVERY_MS = 250
/** Facts per batch (one transaction each); a full batch flushes without waiting. */
export const BATCH_MAX = 500
/** While the database is unreachable the buffer must not grow without bound: beyond this, facts are dropped. */
const BUFFER_MAX = 50_000
const RETRY_AFTER_MS = 100

const buffer: RunFacts[] = []
let timer: NodeJS.Timeout | null = null
let flushing: Promise<void> | null = null
let lastOverflowLog = 0

// What is buffered when the process stops is counted before the database closes.
app.terminating(() => flushProjections())

/**
 * Buffers a finished run's facts for the next batch (off the request path). While the app is
 * terminating (runs draining after the shutdown flush) it applies them before resolving.
 */
export function bufferProjection(facts: RunFacts): Promise<void> {
  if (buffer.length >= BUFFER_MAX) {
    dashboardCacheCounters.projectionFailures.inc()
    if (Date.now() - lastOverflowLog > 1_000) {
      lastOverflowLog = Date.now()
      logger.error(
        { run_id: facts.runId, buffered: buffer.length },
        'analytics projection buffer full: runs dropped until analytics:rebuild'
      )
    }
    return Promise.resolve()
  }
  buffer.push(facts)
  if (app.isTerminating) return flushProjections()
  if (buffer.length >= BATCH_MAX) inBackground(drain(), 'projecting runs')
  else if (!timer) {
    timer = setTimeout(() => inBackground(drain(), 'projecting runs'), FLUSH_EVERY_MS)
    timer.unref()
  }
  return Promise.resolve()
}

/** One batch at a time per process; what arrives meanwhile goes in the next. */
function drain(): Promise<void> {
  if (timer) clearTimeout(timer)
  timer = null
  if (!flushing && buffer.length) {
    flushing = applyAll().finally(() => {
      flushing = null
      // Facts that arrived as the last batch finished would otherwise wait for the next fact.
      if (buffer.length) inBackground(drain(), 'projecting runs')
    })
  }
  return flushing ?? Promise.resolve()
}

async function applyAll() {
  while (buffer.length) await apply(buffer.splice(0, BATCH_MAX))
}

/** A failed batch is retried once (with time zones re-read); then it is left to analytics:rebuild. */
async function apply(batch: RunFacts[]) {
  try {
    await projectFacts(batch)
  } catch (first) {
    logger.warn(
      { err: first, runs: batch.length },
      'analytics projection batch failed; retrying once'
    )
    // A moment for a transient cause (deadlock victim, failover) to pass.
    await new Promise((resolve) => setTimeout(resolve, RETRY_AFTER_MS))
    try {
      await projectFacts(batch, { freshZones: true })
    } catch (error) {
      dashboardCacheCounters.projectionFailures.inc(batch.length)
      logger.error(
        { err: error, runs: batch.length, run_ids: batch.slice(0, 20).map((fact) => fact.runId) },
        'analytics projection failed: these runs are missing from the rollups until analytics:rebuild'
      )
    }
  }
}

/** Applies every buffered fact now and resolves when they are in the rollups (tests, shutdown). */
export async function flushProjections() {
  while (buffer.length || flushing) await drain()
}
