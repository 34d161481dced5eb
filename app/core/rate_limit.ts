import limiter from '@adonisjs/limiter/services/main'
import { errors } from '@adonisjs/limiter'
import logger from '@adonisjs/core/services/logger'
import { DomainException } from '#core/exceptions'
import { isTransientError } from '#core/transient'

export type RateState = { limit: number; remaining: number; resetS: number }

/** The standard headers of a rate state (draft RateLimit fields, as CONTRACT.md names them). */
export function rateHeaders(state: RateState): Record<string, string> {
  return {
    'RateLimit-Limit': String(state.limit),
    'RateLimit-Remaining': String(Math.max(0, state.remaining)),
    'RateLimit-Reset': String(Math.max(0, Math.ceil(state.resetS))),
  }
}

/** 429 with Retry-After and the RateLimit headers. */
export class RateLimitedException extends DomainException {
  readonly headers: Record<string, string>
  constructor(message: string, state: RateState) {
    super(message, { status: 429, code: 'E_RATE_LIMITED' })
    this.headers = {
      ...rateHeaders(state),
      'Retry-After': String(Math.max(1, Math.ceil(state.resetS))),
    }
  }
}

let warned = 0
/** After the store failed, requests skip it for a moment instead of each waiting to fail. */
let skipUntil = 0
const SKIP_MS = 2000

/**
 * Counts one request against `perMinute` for `key` (atomically, in Redis when configured) and
 * returns the state, or throws RateLimitedException beyond it. While the store is unreachable
 * the request goes ahead (null): a limit is not worth an outage.
 */
export async function takeRate(key: string, perMinute: number, refusal: string) {
  if (Date.now() < skipUntil) return null
  try {
    const response = await limiter.use({ requests: perMinute, duration: '1 min' }).consume(key)
    return { limit: response.limit, remaining: response.remaining, resetS: response.availableIn }
  } catch (error) {
    if (error instanceof errors.E_TOO_MANY_REQUESTS) {
      const { limit, remaining, availableIn } = error.response
      throw new RateLimitedException(refusal, { limit, remaining, resetS: availableIn })
    }
    if (!isTransientError(error)) throw error
    skipUntil = Date.now() + SKIP_MS
    if (Date.now() - warned > 10_000) {
      warned = Date.now()
      logger.warn({ err: error }, 'rate limits unavailable; requests go ahead unlimited')
    }
    return null
  }
}
