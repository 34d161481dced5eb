import { flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { inBackground, OperatorCommand } from '#core'

/**
 * queue:work — a worker process: executes queued runs (and jobs) until SIGTERM/SIGINT, then
 * drains (in-flight runs get SHUTDOWN_GRACE_S to finish). While one is alive, web processes
 * leave the queue to it.
 */
export default class QueueWork extends OperatorCommand {
  static commandName = 'queue:work'
  static description = 'Run queued runs and jobs until SIGTERM, then drain'
  static options: CommandOptions = { startApp: true, staysAlive: true }

  @flags.number({
    description: 'Queued runs executed at once (default QUEUE_RUN_CONCURRENCY or 50)',
    alias: 'c',
  })
  declare concurrency?: number

  async run() {
    const { startRunEngine, drainRuns } = await import('#agents/services/runs')
    const { startQueueWorker } = await import('#agents/services/run_queue')
    await startRunEngine('worker')
    const { startWebhookDispatcher } = await import('#platform')
    startWebhookDispatcher()
    await startQueueWorker(this.concurrency)
    this.notice(`queue:work ${process.pid} working the runs queue`)
    let stopping = false
    const stop = async (signal: string) => {
      if (stopping) return
      stopping = true
      this.notice(`${signal}: draining`)
      await drainRuns()
      await this.terminate()
    }
    process.once('SIGTERM', () => inBackground(stop('SIGTERM'), 'stopping the worker'))
    process.once('SIGINT', () => inBackground(stop('SIGINT'), 'stopping the worker'))
  }
}
