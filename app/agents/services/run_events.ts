import { EventEmitter } from 'node:events'
import db from '@adonisjs/lucid/services/db'
import logger from '@adonisjs/core/services/logger'

export type RunEventName = 'run' | 'delta' | 'done' | 'error'
export type RunEvent = { seq: number; event: RunEventName; data: unknown }

const FLUSH_MS = 100
const live = new EventEmitter()
live.setMaxListeners(0)

/**
 * The event log of one run: delivered at once to listeners in this process, and written to
 * `run_events` in small batches so any process can replay it (Last-Event-ID) or follow it.
 */
export class RunEventLog {
  #seq = 0
  #pending: RunEvent[] = []
  #timer: NodeJS.Timeout | null = null
  #flushing: Promise<void> = Promise.resolve()

  constructor(
    private tenantId: string,
    private runId: string,
    /** Settles once the run row exists: the events reference it. */
    private ready: Promise<unknown> = Promise.resolve()
  ) {}

  emit(event: RunEventName, data: unknown) {
    const entry: RunEvent = { seq: ++this.#seq, event, data }
    this.#pending.push(entry)
    live.emit(this.runId, entry)
    if (event === 'done' || event === 'error') return this.flush()
    this.#timer ??= setTimeout(() => void this.flush().catch((error) => logger.warn({ err: error, run_id: this.runId }, 'writing run events failed')), FLUSH_MS)
    return Promise.resolve()
  }

  /** Writes what is pending; the terminal event is awaited so replays see the whole run. */
  flush() {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    const batch = this.#pending.splice(0)
    if (batch.length === 0) return this.#flushing
    // A failed batch must not poison the ones after it: each write starts from a settled chain.
    this.#flushing = this.#flushing.catch(() => {}).then(() => this.ready).then(() =>
      db
        .table('run_events')
        .multiInsert(batch.map((e) => ({ tenant_id: this.tenantId, run_id: this.runId, seq: e.seq, event: e.event, data: JSON.stringify(e.data) })))
        .then(() => undefined)
    )
    return this.#flushing
  }
}

/** Subscribes to a run's live events in this process; returns the unsubscribe function. */
export function onRunEvent(runId: string, listener: (event: RunEvent) => void) {
  live.on(runId, listener)
  return () => live.off(runId, listener)
}

/** Stored events of a run after `afterSeq`, in order. */
export async function storedEvents(tenantId: string, runId: string, afterSeq: number): Promise<RunEvent[]> {
  const rows = await db
    .from('run_events')
    .where('tenant_id', tenantId)
    .where('run_id', runId)
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .select('seq', 'event', 'data')
  return rows.map((row) => ({ seq: row.seq, event: row.event, data: row.data }))
}
