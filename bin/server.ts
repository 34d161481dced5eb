/*
 * HTTP server entry point (`node ace serve` runs it in development, `npm start` in production).
 */
import { Ignitor, prettyPrintError } from '@adonisjs/core'

const APP_ROOT = new URL('../', import.meta.url)
const IMPORTER = (filePath: string) => {
  if (filePath.startsWith('./') || filePath.startsWith('../')) {
    return import(new URL(filePath, APP_ROOT).href)
  }
  return import(filePath)
}

/** Graceful shutdown, then exit even if a library left a socket open (see terminateThenExit). */
const exitAfterShutdown = async (app: { terminate(): Promise<void> }) => {
  const { terminateThenExit } = await import('#core/process_guard')
  return terminateThenExit(app)
}

new Ignitor(APP_ROOT, { importer: IMPORTER })
  .tap((app) => {
    app.booting(async () => {
      await import('#start/env')
    })
    app.ready(async () => {
      const { installProcessGuard } = await import('#core/process_guard')
      const { closeSilentConnections } = await import('#core/http_server')
      installProcessGuard({ terminate: () => exitAfterShutdown(app) })
      const server = await app.container.make('server')
      closeSilentConnections(server.getNodeServer()!)
    })
    // Graceful shutdown: stop accepting, finish in-flight requests, close pools.
    app.listen('SIGTERM', () => exitAfterShutdown(app))
    app.listen('SIGINT', () => exitAfterShutdown(app))
  })
  .httpServer()
  .start()
  .catch((error) => {
    process.exitCode = 1
    // A configuration refusal (start/env.ts) is a one-line reason for the operator.
    if (error?.code === 'E_MISSING_CONFIGURATION')
      console.error(`Agora cannot start: ${error.message}`)
    else prettyPrintError(error)
  })
