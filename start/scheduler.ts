/*
 * Periodic maintenance in web and worker processes (never under test): ends runs abandoned by a
 * dead process. Safe with several processes: every job is a conditional update.
 */
import app from '@adonisjs/core/services/app'
import logger from '@adonisjs/core/services/logger'
import { failStaleRuns } from '#agents'

const EVERY_MS = 30_000

if (!app.inTest) {
  const timer = setInterval(async () => {
    try {
      const ended = await failStaleRuns()
      if (Number(ended)) logger.warn({ runs: Number(ended) }, 'ended abandoned runs')
    } catch (error) {
      logger.error({ err: error }, 'scheduled maintenance failed')
    }
  }, EVERY_MS)
  timer.unref()
  app.terminating(() => clearInterval(timer))
}
