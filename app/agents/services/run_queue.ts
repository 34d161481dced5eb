import app from '@adonisjs/core/services/app'
import db from '@adonisjs/lucid/services/db'
import logger from '@adonisjs/core/services/logger'
import { configProvider } from '@adonisjs/core'
import { Locator, Worker } from '@adonisjs/queue'
import { inBackground, PROCESS_ID } from '#core'
import { extend } from '#credits'
import Run from '#agents/models/run'
import AgentVersion from '#agents/models/agent_version'
import WorkflowVersion from '#agents/models/workflow_version'
import ExecuteRunJob from '#agents/jobs/execute_run'
import { lastStoredSeq, RunEventLog } from '#agents/services/run_events'
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

/**
 * Queues a job for a worker like a run (same queue, same workers); while this process works the
 * queue itself it also starts `here` at once (synchronously, so the caller can track it). Whoever
 * claims the work first does it: `here` and the job must both claim before acting.
 */
export async function dispatchWork(dispatch: () => Promise<void>, here: () => void) {
  try {
    if (!(app.inTest && embeddedDatabase)) await dispatch()
  } catch (error) {
    if (!embeddedMode) throw error
    logger.warn({ err: error }, 'queue unreachable; doing the queued work here')
  }
  if (embeddedMode) here()
}

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
  try {
    if (!(app.inTest && embeddedDatabase))
      await ExecuteRunJob.dispatch({ tenantId: run.tenantId, runId: run.id }).toQueue(QUEUE)
  } catch (error) {
    // The queue is unreachable (Redis down): a process that works the queue itself runs it anyway.
    if (!embeddedMode) throw error
    logger.warn({ err: error, run_id: run.id }, 'queue unreachable; running the queued run here')
  }
  if (embeddedMode)
    setImmediate(
      () =>
        void takeQueuedRun(run.tenantId, run.id).catch((error) =>
          logger.error({ err: error, run_id: run.id }, 'queued run failed to start')
        )
    )
}

/** Queued runs executing here at most at once (`queue:work --concurrency`, QUEUE_RUN_CONCURRENCY). */
let slots = Math.max(1, Number(process.env.QUEUE_RUN_CONCURRENCY) || 50)
let busy = 0
const waiting: (() => void)[] = []

/**
 * Takes a queued job: waits for a free slot, then claims and starts the run and returns while
 * it executes. The queue worker itself works one job at a time (one poll per idle cycle instead
 * of one per slot); the run, once claimed, is this process's — recovery covers its death.
 */
export async function takeQueuedRun(tenantId: string, runId: string) {
  while (busy >= slots) await new Promise<void>((resolve) => waiting.push(resolve))
  busy++
  const release = () => {
    busy--
    waiting.shift()?.()
  }
  try {
    const running = await executeQueuedRun(tenantId, runId)
    if (running) inBackground(running.finished.finally(release), 'a queued run')
    else release()
  } catch (error) {
    release()
    throw error
  }
}

/**
 * Claims a queued run for this process and executes it: the prompt is rebuilt from the pinned
 * version and the thread, the run keeps its hold (renewed for the run timeout) and continues
 * its event log. A run no longer queued (claimed elsewhere, cancelled) is left alone.
 */
export async function executeQueuedRun(
  tenantId: string,
  runId: string
): Promise<{ finished: Promise<Run> } | null> {
  if (!accepting) return null
  const claimed = await Run.query()
    .where('tenantId', tenantId)
    .where('id', runId)
    .where('status', 'queued')
    .update({
      status: 'running',
      owner: PROCESS_ID,
      started_at: new Date(),
      attempts: Run.query().client.raw('attempts + 1'),
    })
    .returning('*')
  const row = (claimed as any[])[0]
  if (!row) return null
  const run = Run.$createFromAdapterResult(row) as Run
  const { buildPrompt, threadHistory } = await import('#agents/actions/start_run')
  const version = run.agentVersionId
    ? await AgentVersion.query().where('id', run.agentVersionId).first()
    : null
  const prompt = await buildPrompt({
    tenantId,
    version,
    workflowVersion: run.workflowVersionId
      ? await WorkflowVersion.query().where('id', run.workflowVersionId).first()
      : null,
    text: run.input,
    history: run.threadId ? await threadHistory(tenantId, run.threadId, run.id) : [],
    metadata: run.metadata,
  })
  await extend(run.holdId!, 0n, { tenantId, ttlSeconds: Math.ceil(runTimeoutMs() / 1000) + 60 })
  const events = new RunEventLog(
    tenantId,
    run.id,
    Promise.resolve(),
    await lastStoredSeq(db, tenantId, run.id)
  )
  events.emit('run', { id: run.id, status: 'running' })
  return {
    finished: executeRun({
      run,
      ...prompt,
      holdMicros: run.holdMicros,
      holdId: run.holdId!,
      events,
    }),
  }
}

async function newWorker() {
  const config = app.config.get<any>('queue')
  const adapters: Record<string, any> = {}
  for (const [name, adapter] of Object.entries<any>(config.adapters)) {
    adapters[name] =
      typeof adapter === 'function' ? adapter : await configProvider.resolve(app, adapter)
  }
  return new Worker({
    ...config,
    autoLoadJobs: false,
    adapters,
    logger,
    jobFactory: (JobClass: any) => app.container.make(JobClass),
  })
}

/** Works the runs queue in this process until stopQueueWorker(). */
export async function startQueueWorker(concurrency?: number) {
  if (embedded) return
  if (concurrency) slots = concurrency
  const worker = await newWorker()
  // Initialised before it starts: a worker stopped during its start-up would otherwise start
  // looping after the stop and never end.
  await worker.init()
  if (!accepting || embedded) return
  embedded = {
    worker,
    running: worker
      .start([QUEUE])
      .catch((error) => logger.error({ err: error }, 'queue worker stopped')),
  }
}

export async function stopQueueWorker() {
  const current = embedded
  embedded = null
  if (!current) return
  // A worker stopped while it is still starting may never report back: do not wait forever.
  const patience = new Promise<void>((resolve) => setTimeout(resolve, 5000).unref())
  await Promise.race([
    current.worker
      .stop()
      .catch(() => {})
      .then(() => current.running),
    patience,
  ])
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
  inBackground(check(), 'watching for workers')
  embeddedMode = false
  watcher ??= setInterval(() => inBackground(check(), 'watching for workers'), 5_000)
  watcher.unref()
}

export async function stopWatchingWorkers() {
  if (watcher) clearInterval(watcher)
  watcher = null
  embeddedMode = false
  await stopQueueWorker()
}
