import { EventEmitter } from 'node:events'
import db from '@adonisjs/lucid/services/db'
import logger from '@adonisjs/core/services/logger'
import type { QueryClientContract } from '@adonisjs/lucid/types/database'
import { bus, inBackground } from '#core'

export type RunEventName = 'run' | 'delta' | 'step' | 'done' | 'error'
/** `unstored`: a terminal event that could not be written (neither could the events before it). */
export type RunEvent = { seq: number; event: RunEventName; data: unknown; unstored?: true }

const FLUSH_MS = 100
const live = new EventEmitter()
live.setMaxListeners(0)

/** Bus topic announcing that a run has new stored events (followers in other processes re-read). */
export const runTopic = (runId: string) => `run:${runId}`

/**
 * Runs followed from another process: only those are announced on the bus (most runs are
 * followed, if at all, by the process executing them). Followers repeat their interest while
 * they wait, so it expires on its own.
 */
const FOLLOW_TOPIC = 'runs:follow'
const INTEREST_MS = 10_000
const interest = new Map<string, number>()

/** Listens for followers in other processes (web and worker processes, from startRunEngine). */
export function listenForFollowers() {
  bus.subscribe(FOLLOW_TOPIC, (id) => {
    const now = Date.now()
    if (interest.size > 10_000)
      for (const [key, until] of interest) if (until < now) interest.delete(key)
    interest.set(id, now + INTEREST_MS)
  })
}

/** Tells the process executing a run that this one follows it. */
export function followFromAfar(runId: string) {
  return bus.publish(FOLLOW_TOPIC, runId)
}

function followedFromAfar(runId: string) {
  return (interest.get(runId) ?? 0) > Date.now()
}

/**
 * The event log of one run: delivered at once to listeners in this process, and written to
 * `run_events` in small batches so any process can replay it (Last-Event-ID) or follow it;
 * each write is announced on the bus. The terminal event is not written here: it commits with
 * the run's outcome (see takePending), so a finished run always has its last event.
 */
export class RunEventLog {
  #seq = 0
  #terminalSeq: number | null = null
  #pending: RunEvent[] = []
  #timer: NodeJS.Timeout | null = null
  #flushing: Promise<void> = Promise.resolve()

  constructor(
    private tenantId: string,
    private runId: string,
    /** Settles once the run row exists: the events reference it. */
    private ready: Promise<unknown> = Promise.resolve(),
    /** Sequence already used (a retried run continues its log). */
    startSeq = 0
  ) {
    this.#seq = startSeq
  }

  emit(event: Exclude<RunEventName, 'done' | 'error'>, data: unknown) {
    const entry: RunEvent = { seq: ++this.#seq, event, data }
    this.#pending.push(entry)
    live.emit(this.runId, entry)
    this.#timer ??= setTimeout(
      () =>
        void this.flush().catch((error) =>
          logger.warn({ err: error, run_id: this.runId }, 'writing run events failed')
        ),
      FLUSH_MS
    )
  }

  /**
   * The terminal event (`done` or `error`): queued for the outcome transaction; listeners get it
   * from `committed()`, once the run's outcome is visible to every reader.
   */
  end(event: 'done' | 'error', data: unknown): RunEvent {
    const entry: RunEvent = { seq: ++this.#seq, event, data }
    this.#pending.push(entry)
    this.#terminalSeq = entry.seq
    return entry
  }

  /** After the outcome committed: local listeners get the terminal event, other processes a hint. */
  committed(entry: RunEvent) {
    live.emit(this.runId, entry)
    inBackground(this.announce(), 'announcing run events')
  }

  /** Writes what is pending now (deltas of a long run). */
  flush() {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    const batch = this.#pending.splice(0)
    if (batch.length === 0) return this.#flushing
    // A failed batch must not poison the ones after it: each write starts from a settled chain.
    this.#flushing = this.#flushing
      .catch(() => {})
      .then(() => this.ready)
      .then(() => writeEvents(db, this.tenantId, this.runId, batch))
      .then(() => this.announce())
    return this.#flushing
  }

  /**
   * Hands the unwritten events (the terminal one included) to the run's outcome transaction,
   * after any write in progress; call announce() once it committed.
   */
  async takePending() {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    await this.#flushing.catch(() => {})
    return this.#pending.splice(0)
  }

  /** Ends local listeners' streams with an error the log could not store (the outcome failed to commit). */
  unrecorded(data: unknown) {
    // In place of the terminal event that did not commit: followers wait for its sequence number.
    live.emit(this.runId, {
      seq: this.#terminalSeq ?? ++this.#seq,
      event: 'error',
      data,
      unstored: true,
    } satisfies RunEvent)
  }

  announce() {
    if (!followedFromAfar(this.runId)) return Promise.resolve()
    return bus.publish(runTopic(this.runId), String(this.#seq))
  }

  get seq() {
    return this.#seq
  }
}

/** Inserts events of one run in one statement. */
export async function writeEvents(
  client: Pick<QueryClientContract, 'table'>,
  tenantId: string,
  runId: string,
  events: RunEvent[]
) {
  if (!events.length) return
  await client.table('run_events').multiInsert(
    events.map((e) => ({
      tenant_id: tenantId,
      run_id: runId,
      seq: e.seq,
      event: e.event,
      data: JSON.stringify(e.data),
    }))
  )
}

/** Subscribes to a run's live events in this process; returns the unsubscribe function. */
export function onRunEvent(runId: string, listener: (event: RunEvent) => void) {
  live.on(runId, listener)
  return () => live.off(runId, listener)
}

/** The last sequence number stored for a run (0 before its first event). */
export async function lastStoredSeq(
  client: Pick<QueryClientContract, 'from'>,
  tenantId: string,
  runId: string
): Promise<number> {
  const row = await client
    .from('run_events')
    .where('tenant_id', tenantId)
    .where('run_id', runId)
    .max('seq as seq')
    .first()
  return Number(row?.seq ?? 0)
}

/** Stored events of a run after `afterSeq`, in order. */
export async function storedEvents(
  tenantId: string,
  runId: string,
  afterSeq: number
): Promise<RunEvent[]> {
  const rows = await db
    .from('run_events')
    .where('tenant_id', tenantId)
    .where('run_id', runId)
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .select('seq', 'event', 'data')
  return rows.map((row) => ({ seq: row.seq, event: row.event, data: row.data }))
}
