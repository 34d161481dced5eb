import limiter from '@adonisjs/limiter/services/main'
import { errors } from '@adonisjs/limiter'
import { DomainException } from '#core'

type Scope = 'login' | 'reset' | '2fa' | 'verification' | 'signup_notice'

/** Failed attempts allowed per email (or user) and per IP within the window before a block. */
const PER_SUBJECT = { requests: 5, duration: '15 mins', blockDuration: '15 mins' }
const PER_IP = { requests: 50, duration: '15 mins', blockDuration: '15 mins' }

/** 429 with Retry-After and a message a person can act on. */
export class TooManyAttemptsException extends DomainException {
  constructor(public retryAfterSeconds: number) {
    super(
      `Too many attempts. Try again in ${Math.max(1, Math.ceil(retryAfterSeconds / 60))} minute(s).`,
      {
        status: 429,
        code: 'E_TOO_MANY_ATTEMPTS',
      }
    )
  }
  get headers() {
    return { 'Retry-After': String(Math.max(1, Math.ceil(this.retryAfterSeconds))) }
  }
}

function keys(scope: Scope, subject: string, ip: string) {
  return {
    subject: {
      limiter: limiter.use(PER_SUBJECT),
      key: `${scope}:subject:${subject.toLowerCase()}`,
    },
    ip: { limiter: limiter.use(PER_IP), key: `${scope}:ip:${ip}` },
  }
}

/**
 * Runs one credential check under brute-force limits: refuses while the subject or the IP is
 * blocked, counts failures (the check returned false), and forgets the subject's failures on
 * success. Successful attempts never count.
 */
export async function throttledAttempt(
  scope: Scope,
  subject: string,
  ip: string,
  check: () => Promise<boolean>
) {
  const k = keys(scope, subject, ip)
  for (const { limiter: l, key } of [k.subject, k.ip]) {
    if (await l.isBlocked(key)) throw new TooManyAttemptsException(await l.availableIn(key))
  }
  const ok = await check()
  if (ok) {
    await k.subject.limiter.delete(k.subject.key)
    return true
  }
  for (const { limiter: l, key } of [k.subject, k.ip]) {
    await l.consume(key).catch(() => {}) // exceeding sets the block; the next attempt is refused
  }
  return false
}

/**
 * Counts every request, successful or not, under the same per-subject and per-IP limits: for
 * endpoints that send mail (reset links, verification links), where each call costs a message.
 */
export async function throttledRequest(scope: Scope, subject: string, ip: string) {
  const waitS = await requestWait(scope, subject, ip)
  if (waitS !== null) throw new TooManyAttemptsException(waitS)
}

/** Counts one request; the seconds to wait when over the limit, null when it may go ahead. */
export async function requestWait(scope: Scope, subject: string, ip: string) {
  const k = keys(scope, subject, ip)
  for (const { limiter: l, key } of [k.subject, k.ip]) {
    if (await l.isBlocked(key)) return l.availableIn(key)
  }
  for (const { limiter: l, key } of [k.subject, k.ip]) {
    try {
      await l.consume(key)
    } catch (error) {
      if (error instanceof errors.E_TOO_MANY_REQUESTS) return error.response.availableIn
      throw error
    }
  }
  return null
}
