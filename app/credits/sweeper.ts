import app from '@adonisjs/core/services/app'
import logger from '@adonisjs/core/services/logger'
import { expireStaleHolds } from '#credits/actions/expire_stale_holds'

// Often enough that no credits stay held much past a hold's expiry; one indexed query.
const EVERY_MS = 10_000
let timer: NodeJS.Timeout | null = null

/**
 * Expires stale holds every 10 s in web processes (never under test or in one-off commands).
 * Several processes may sweep at once: each expiry is a conditional update under the account
 * lock, so a hold expires exactly once.
 */
export function startHoldSweeper() {
  if (timer || app.inTest || app.getEnvironment() !== 'web') return
  timer = setInterval(async () => {
    try {
      const expired = await expireStaleHolds()
      if (expired) logger.warn({ holds: expired }, 'expired stale credit holds')
    } catch (error) {
      logger.error({ err: error }, 'credit hold sweep failed')
    }
  }, EVERY_MS)
  timer.unref()
  app.terminating(() => {
    if (timer) clearInterval(timer)
    timer = null
  })
}
