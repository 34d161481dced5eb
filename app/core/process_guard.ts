import { HttpContext } from '@adonisjs/core/http'
import logger from '@adonisjs/core/services/logger'
import { isTransientError } from '#core/transient'

type Log = Pick<typeof logger, 'error' | 'warn' | 'fatal'>

/**
 * Last line of defence: a promise rejected with nobody listening, or a connection's error event
 * nobody handles, is logged with the request it belongs to (the async context survives into
 * these handlers) and the process serves on. Node's default is to exit, dropping every request
 * in flight. A non-transient uncaught exception still ends the process, gracefully (its state
 * may be broken); a supervisor restarts it.
 */
export function installProcessGuard(options: { log?: Log; terminate: () => unknown }) {
  const { onRejection, onException } = processGuard(options)
  process.on('unhandledRejection', onRejection)
  process.on('uncaughtException', onException)
}

/** The two handlers, apart from the process (tests call them directly). */
export function processGuard(options: { log?: Log; terminate: () => unknown }) {
  const log = options.log ?? logger
  const onRejection = (reason: unknown) => {
    log.error(
      { err: reason, request_id: requestId() },
      `unhandled rejection: ${(reason as Error)?.message ?? String(reason)}`
    )
  }
  const onException = (error: Error) => {
    if (isTransientError(error)) {
      log.warn(
        { err: error, request_id: requestId() },
        `unhandled connection error: ${error.message}`
      )
      return
    }
    log.fatal(
      { err: error, request_id: requestId() },
      `uncaught exception, shutting down: ${error.message}`
    )
    process.exitCode = 1
    options.terminate()
  }
  return { onRejection, onException }
}

function requestId() {
  return HttpContext.get()?.request.id()
}

/**
 * Graceful shutdown, then a watchdog: once every hook and provider has shut down, a socket a
 * library left open (seen: a Redis connection after quit) must not keep the process alive
 * until its supervisor kills it. Exits 2 s after termination finished if still running.
 */
export function terminateThenExit(app: { terminate(): Promise<void> }) {
  // Taken now: the logger service is gone once the app terminated.
  const log = logger
  return app.terminate().finally(() => {
    setTimeout(() => {
      log.warn(
        { resources: process.getActiveResourcesInfo() },
        'shut down, but handles are still open: exiting'
      )
      process.exit()
    }, 2000).unref()
  })
}
