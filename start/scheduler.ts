/*
 * Background work of web processes (never under test):
 * - the run engine: owner heartbeat, recovery of runs abandoned by a dead process, cancellation
 *   through the bus, the queue while no worker is alive, and draining on SIGTERM
 *   (`queue:work` starts the same engine as a worker);
 * - retention: expired run inputs and outputs are erased every hour;
 * - outbound webhooks: due deliveries are sent every 2 s (and as soon as they are queued);
 * - the credits sweeper: stale holds expire within 10 s of their expiry; plan allowances are
 *   granted within 15 minutes of a period's start.
 */
import app from '@adonisjs/core/services/app'
import logger from '@adonisjs/core/services/logger'
import { startRunEngine, drainOnShutdown, purgeExpiredRunContent } from '#agents'
import { startHoldSweeper } from '#credits'
import { startWebhookDispatcher, stopWebhookDispatcher } from '#platform'

if (!app.inTest) {
  drainOnShutdown()
  app.ready(() => startRunEngine('web'))
  startHoldSweeper()
  startWebhookDispatcher()
  // Retention: run content older than a workspace keeps it is erased hourly (idempotent, so
  // several processes may do it at once).
  const retention = setInterval(
    () =>
      purgeExpiredRunContent().catch((error) =>
        logger.error({ err: error }, 'run content retention failed')
      ),
    3600_000
  )
  retention.unref()
  app.terminating(() => {
    stopWebhookDispatcher()
    clearInterval(retention)
  })
}
