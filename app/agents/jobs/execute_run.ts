import { Job } from '@adonisjs/queue'

/** Executes one queued run (async API runs, runs handed back after their process died). */
export default class ExecuteRunJob extends Job<{ tenantId: string; runId: string }> {
  static options = { queue: 'runs' }

  async execute() {
    const { takeQueuedRun } = await import('#agents/services/run_queue')
    await takeQueuedRun(this.payload.tenantId, this.payload.runId)
  }
}
