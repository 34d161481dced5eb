import logger from '@adonisjs/core/services/logger'

/**
 * Starts work nobody awaits (timers, bus handlers, fire-and-forget writes). A failure is logged
 * with what the work was, never left as an unhandled rejection. Lint forbids a bare `void`.
 */
export function inBackground(task: Promise<unknown>, what: string): void {
  task.catch((error) => logger.error({ err: error }, `${what} failed`))
}
