import app from '@adonisjs/core/services/app'
import logger from '@adonisjs/core/services/logger'
import { expireStaleHolds } from '#credits/actions/expire_stale_holds'
import { grantAllowances } from '#credits/actions/grant_allowances'

// Often enough that no credits stay held much past a hold's expiry; one indexed query.
const EVERY_MS = 10_000
let timer: NodeJS.Timeout | null = null
const ALLOWANCE_EVERY_MS = 15 * 60_000

/**
 * Expires stale holds every 10 s in web processes (never under test or in one-off commands),
 * and grants due plan allowances every 15 minutes.
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
  // Plan allowances: a new period's grant within 15 minutes of its start (and at boot). Every
  // process may try: each grant is once per tenant and period (credits:allowance does the same).
  const grant = async () => {
    try {
      const grants = await grantAllowances()
      if (grants.length) logger.info({ grants: grants.length }, 'granted plan allowances')
    } catch (error) {
      logger.error({ err: error }, 'plan allowance grant failed')
    }
  }
  const allowances = setInterval(grant, ALLOWANCE_EVERY_MS)
  allowances.unref()
  setTimeout(grant, 5_000).unref()
  app.terminating(() => {
    if (timer) clearInterval(timer)
    clearInterval(allowances)
    timer = null
  })
}
