/*
 * The run engine in web processes (never under test): owner heartbeat, recovery of runs
 * abandoned by a dead process, cancellation through the bus, the queue while no worker is
 * alive, and draining on SIGTERM. `queue:work` starts the same engine as a worker.
 */
import app from '@adonisjs/core/services/app'
import { startRunEngine, drainOnShutdown } from '#agents'

if (!app.inTest) {
  drainOnShutdown()
  app.ready(() => startRunEngine('web'))
}
