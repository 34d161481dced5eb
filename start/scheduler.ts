/*
 * Background work of web processes (never under test):
 * - the run engine: owner heartbeat, recovery of runs abandoned by a dead process, cancellation
 *   through the bus, the queue while no worker is alive, and draining on SIGTERM
 *   (`queue:work` starts the same engine as a worker);
 * - the credits sweeper: stale holds expire within 10 s of their expiry; plan allowances are
 *   granted within 15 minutes of a period's start.
 */
import app from '@adonisjs/core/services/app'
import { startRunEngine, drainOnShutdown } from '#agents'
import { startHoldSweeper } from '#credits'

if (!app.inTest) {
  drainOnShutdown()
  app.ready(() => startRunEngine('web'))
  startHoldSweeper()
}
