/*
 * Background work of web processes (never under test):
 * - the run engine: owner heartbeat, recovery of runs abandoned by a dead process, cancellation
 *   through the bus, the queue while no worker is alive, and draining on SIGTERM
 *   (`queue:work` starts the same engine as a worker);
 * - outbound webhooks: due deliveries are sent every 2 s (and as soon as they are queued);
 * - the credits sweeper: stale holds expire within 10 s of their expiry; plan allowances are
 *   granted within 15 minutes of a period's start.
 */
import app from '@adonisjs/core/services/app'
import { startRunEngine, drainOnShutdown } from '#agents'
import { startHoldSweeper } from '#credits'
import { startWebhookDispatcher, stopWebhookDispatcher } from '#platform'

if (!app.inTest) {
  drainOnShutdown()
  app.ready(() => startRunEngine('web'))
  startHoldSweeper()
  startWebhookDispatcher()
  app.terminating(() => stopWebhookDispatcher())
}
