import { hostname } from 'node:os'
import app from '@adonisjs/core/services/app'
import db from '@adonisjs/lucid/services/db'
import logger from '@adonisjs/core/services/logger'
import { inBackground, PROCESS_ID } from '#core'

/** A process not seen for this long is dead: its runs are ended or retried by others (RUN_OWNER_TIMEOUT_S). */
export const OWNER_DEAD_AFTER_S = Math.max(1, Number(process.env.RUN_OWNER_TIMEOUT_S) || 20)
const BEAT_MS = Math.min(5_000, (OWNER_DEAD_AFTER_S * 1000) / 4)

export type OwnerKind = 'web' | 'worker' | 'cli'

let timer: NodeJS.Timeout | null = null
let kind: OwnerKind = 'web'
/** Since when this process's beats have all succeeded (null while they fail). */
let beatingSince: number | null = null

/**
 * Every process that executes runs beats in `run_owners` (one upsert every 5 s, not one per run),
 * so any process can tell that a run's owner died and recover the run.
 */
export async function startOwnerHeartbeat(as: OwnerKind) {
  kind = as
  await beat()
  timer ??= setInterval(() => inBackground(beat(), 'run owner heartbeat'), BEAT_MS)
  timer.unref()
}

/**
 * Starts beating on the first run of a process that did not start the engine (a CLI command).
 * Not under test: there every query shares the test's one transaction, and a beat landing
 * inside a tenant-bound savepoint would abort it (no other process recovers test runs).
 */
export async function ensureOwnerHeartbeat() {
  if (!timer && !app.inTest) await startOwnerHeartbeat('cli')
}

async function beat() {
  try {
    await db.rawQuery(
      `INSERT INTO run_owners (id, kind, host, pid) VALUES (?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET seen_at = now(), kind = EXCLUDED.kind`,
      [PROCESS_ID, kind, hostname().slice(0, 255), process.pid]
    )
    beatingSince ??= Date.now()
  } catch (error) {
    beatingSince = null
    logger.warn({ err: error }, 'run owner heartbeat failed')
  }
}

/**
 * Whether this process may declare other owners dead. Not right after its own beats failed:
 * a database outage silences every process at once, and each would otherwise take the others'
 * live runs for abandoned. After OWNER_DEAD_AFTER_S of its own successful beats, every live
 * process has beaten again too. A process without a heartbeat (tests) trusts the table.
 */
export function mayJudgeOwners() {
  if (!timer) return true
  return beatingSince !== null && Date.now() - beatingSince >= OWNER_DEAD_AFTER_S * 1000
}

/** Stops beating and removes this process's row: its unfinished runs are recoverable at once. */
export async function stopOwnerHeartbeat() {
  if (timer) clearInterval(timer)
  timer = null
  beatingSince = null
  await db
    .from('run_owners')
    .where('id', PROCESS_ID)
    .delete()
    .catch(() => {})
}

/** Whether a `queue:work` process is alive (the web process then leaves the queue to it). */
export async function workerAlive() {
  const row = await db
    .from('run_owners')
    .where('kind', 'worker')
    .whereRaw(`seen_at > now() - make_interval(secs => ?)`, [OWNER_DEAD_AFTER_S])
    .whereNull('stopping_at')
    .select('id')
    .first()
  return Boolean(row)
}

/** Marks this process as draining: it takes no new queued work. */
export async function markStopping() {
  await db
    .from('run_owners')
    .where('id', PROCESS_ID)
    .update({ stopping_at: new Date() })
    .catch(() => {})
}
