/**
 * Errors that mean "a dependency is briefly unreachable", not "this request is wrong": the
 * database restarting or refusing connections, a connection killed mid-query, the pool starved,
 * Redis down. They answer 503 with Retry-After, never 500.
 */

// SQLSTATE classes 08 (connection exception), 53 (insufficient resources) and 57P01–04
// (admin or crash shutdown, cannot connect now). Serialization failures are not here: they are
// retried where the transaction is written.
const TRANSIENT_SQLSTATE = /^(08|53|57P0[1-4])/
const TRANSIENT_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
])
const TRANSIENT_MESSAGE =
  /Connection terminated|connection error and is not queryable|Knex: Timeout acquiring a connection|Connection is closed|enableOfflineQueue|Reached the max retries per request|Command timed out|Cannot use a pool after calling end|terminating connection|the database system is (starting up|shutting down|in recovery mode)/i

type ErrorShape = {
  code?: unknown
  name?: unknown
  message?: unknown
  cause?: unknown
  errors?: unknown
}

export function isTransientError(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 3) return false
  const { code, name, message, cause, errors } = error as ErrorShape
  if (
    typeof code === 'string' &&
    (TRANSIENT_ERRNO.has(code) || (code.length === 5 && TRANSIENT_SQLSTATE.test(code)))
  )
    return true
  if (name === 'KnexTimeoutError' || name === 'MaxRetriesPerRequestError') return true
  if (typeof message === 'string' && TRANSIENT_MESSAGE.test(message)) return true
  // AggregateError (a dual-stack connect refused on ::1 and 127.0.0.1) and wrapped causes.
  if (Array.isArray(errors) && errors.some((inner) => isTransientError(inner, depth + 1)))
    return true
  return isTransientError(cause, depth + 1)
}

/** Seconds a client should wait before retrying after a transient failure. */
export const TRANSIENT_RETRY_AFTER_S = 2
