/*
 * Ace entry point: commands boot the app only when they declare `startApp`.
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
    // Long-running commands (queue:work) serve on through a dependency's blip, like the web process.
    app.ready(async () => {
      const { installProcessGuard } = await import('#core/process_guard')
      installProcessGuard({ terminate: () => exitAfterShutdown(app) })
    })
    app.listen('SIGTERM', () => exitAfterShutdown(app))
    app.listenIf(app.managedByPm2, 'SIGINT', () => exitAfterShutdown(app))
  })
  .ace()
  .handle(process.argv.splice(2))
  .catch((error) => {
    process.exitCode = 1
    // A configuration refusal (start/env.ts) is a one-line reason for the operator.
    if (error?.code === 'E_MISSING_CONFIGURATION')
      console.error(`Agora cannot start: ${error.message}`)
    else prettyPrintError(error)
  })
