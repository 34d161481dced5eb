import app from '@adonisjs/core/services/app'
import logger from '@adonisjs/core/services/logger'
import { configProvider } from '@adonisjs/core'
import { Locator, Worker } from '@adonisjs/queue'
import { PROCESS_ID } from '#core'
import { extend } from '#credits'
import Run from '#agents/models/run'
import AgentVersion from '#agents/models/agent_version'
import ExecuteRunJob from '#agents/jobs/execute_run'
import { storedEvents, RunEventLog } from '#agents/services/run_events'
import { executeRun, runTimeoutMs } from '#agents/services/run_executor'
import { workerAlive } from '#agents/services/run_owners'
import { embedded as embeddedDatabase } from '#config/database'

Locator.register('ExecuteRunJob', ExecuteRunJob)

const QUEUE = 'runs'
let accepting = true
let embedded: { worker: Worker; running: Promise<void> } | null = null
let watcher: NodeJS.Timeout | null = null
/** Whether this process executes queued runs itself (no `queue:work` alive, or none looked for yet). */
let embeddedMode = true

/** False once this process drains for shutdown: new runs are refused (503, retried elsewhere). */
export function acceptingRuns() {
  return accepting
}

export function stopAcceptingRuns() {
  accepting = false
}

/**
 * Queues a recorded run for a worker. While this process works the queue itself (no
 * `queue:work` alive), it also starts the run right away: whoever claims it first executes it,
 * the other finds it no longer queued.
 */
export async function dispatchRun(run: Pick<Run, 'id' | 'tenantId'>) {
  // Under test on PGlite the test's transaction holds the only connection the queue could use.
  if (!(app.inTest && embeddedDatabase)) await ExecuteRunJob.dispatch({ tenantId: run.tenantId, runId: run.id }).toQueue(QUEUE)
  if (embeddedMode) setImmediate(() => void executeQueuedRun(run.tenantId, run.id).catch((error) => logger.error({ err: error, run_id: run.id }, 'queued run failed to start')))
}

/**
 * Claims a queued run for this process and executes it: the prompt is rebuilt from the pinned
 * version and the thread, the run keeps its hold (renewed for the run timeout) and continues
 * its event log. A run no longer queued (claimed elsewhere, cancelled) is left alone.
 */
export async function executeQueuedRun(tenantId: string, runId: string) {
  if (!accepting) return
  const claimed = await Run.query()
    .where('tenantId', tenantId)
    .where('id', runId)
    .where('status', 'queued')
    .update({ status: 'running', owner: PROCESS_ID, started_at: new Date(), attempts: Run.query().client.raw('attempts + 1') })
    .returning('*')
  const row = (claimed as any[])[0]
  if (!row) return
  const run = Run.$createFromAdapterResult(row) as Run
  const { buildPrompt, threadHistory } = await import('#agents/actions/start_run')
  const version = run.agentVersionId ? await AgentVersion.query().where('id', run.agentVersionId).first() : null
  const prompt = await buildPrompt({
    tenantId,
    version,
    text: run.input,
    history: run.threadId ? await threadHistory(tenantId, run.threadId, run.id) : [],
    metadata: run.metadata,
  })
  await extend(run.holdId!, 0n, { tenantId, ttlSeconds: Math.ceil(runTimeoutMs() / 1000) + 60 })
  const last = (await storedEvents(tenantId, run.id, 0)).at(-1)?.seq ?? 0
  const events = new RunEventLog(tenantId, run.id, Promise.resolve(), last)
  events.emit('run', { id: run.id, status: 'running' })
  await executeRun({ run, ...prompt, holdMicros: run.holdMicros, holdId: run.holdId!, events })
}

async function newWorker(concurrency?: number) {
  const config = app.config.get<any>('queue')
  const adapters: Record<string, any> = {}
  for (const [name, adapter] of Object.entries<any>(config.adapters)) {
    adapters[name] = typeof adapter === 'function' ? adapter : await configProvider.resolve(app, adapter)
  }
  const worker = { ...config.worker, ...(concurrency ? { concurrency } : {}) }
  return new Worker({ ...config, worker, autoLoadJobs: false, adapters, logger, jobFactory: (JobClass: any) => app.container.make(JobClass) })
}

/** Works the runs queue in this process until stopQueueWorker(). */
export async function startQueueWorker(concurrency?: number) {
  if (embedded) return
  const worker = await newWorker(concurrency)
  embedded = { worker, running: worker.start([QUEUE]).catch((error) => logger.error({ err: error }, 'queue worker stopped')) }
}

export async function stopQueueWorker() {
  const current = embedded
  embedded = null
  if (!current) return
  await current.worker.stop().catch(() => {})
  await current.running
}

/**
 * Web processes work the queue only while no `queue:work` process is alive (checked every 5 s),
 * so one process with nothing else running still executes async runs.
 */
export function watchForWorkers() {
  const check = async () => {
    try {
      const external = await workerAlive()
      if (!accepting) return
      if (external && embedded) {
        embeddedMode = false
        await stopQueueWorker()
      } else if (!external && !embedded) {
        embeddedMode = true
        await startQueueWorker()
      }
    } catch (error) {
      logger.warn({ err: error }, 'checking for queue workers failed')
    }
  }
  void check()
  embeddedMode = false
  watcher ??= setInterval(() => void check(), 5_000)
  watcher.unref()
}

export async function stopWatchingWorkers() {
  if (watcher) clearInterval(watcher)
  watcher = null
  embeddedMode = false
  await stopQueueWorker()
}
