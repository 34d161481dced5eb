import limiter from '@adonisjs/limiter/services/main'
import { errors } from '@adonisjs/limiter'
import { DomainException } from '#core'

type Scope =
  | 'login'
  | 'reset'
  | '2fa'
  | 'verification'
  | 'signup_notice'
  | 'signup'
  | 'invitation'
  | 'invitation_sender'

type Limit = { requests: number; duration: string; blockDuration?: string }

/** Mail-sending requests allowed per email (or user) and per client address within the window. */
const PER_SUBJECT: Limit = { requests: 5, duration: '15 mins', blockDuration: '15 mins' }
const PER_IP: Limit = { requests: 50, duration: '15 mins', blockDuration: '15 mins' }

/**
 * Scopes with their own limits (`ip: null`: per subject only). Invitations mail addresses that
 * never asked for it: 3 per invited address per hour over every workspace, so nobody can
 * mail-bomb an address, and 20 per hour per inviter and per client address.
 */
const SCOPE_LIMITS: Partial<Record<Scope, { subject: Limit; ip: Limit | null }>> = {
  invitation: { subject: { requests: 3, duration: '1 hour' }, ip: null },
  invitation_sender: {
    subject: { requests: 20, duration: '1 hour' },
    ip: { requests: 20, duration: '1 hour' },
  },
}

/**
 * Credential checks: 5 per account from one client address, 100 per address over all accounts
 * (so one attacker's failures do not lock out everyone behind the same address). No account-wide
 * lockout a stranger could trigger: failures from everywhere only slow the account's checks down.
 */
const PER_ACCOUNT_AND_ADDRESS = { requests: 5, duration: '15 mins', blockDuration: '15 mins' }
const PER_ADDRESS = { requests: 100, duration: '15 mins', blockDuration: '15 mins' }
const ACCOUNT_FAILURES = { requests: 1_000_000, duration: '15 mins' }
/** Failures of an account (from any address) before its checks are slowed down, and the cap. */
const FREE_FAILURES = 5
const MAX_DELAY_MS = 2000

/** The client's address as limits see it: IPv4 as is, IPv6 by its /64 (one subscriber's block). */
export function addressGroup(ip: string) {
  if (!ip.includes(':')) return ip
  if (ip.startsWith('::ffff:') && ip.includes('.')) return ip.slice(7)
  const [head, tail = ''] = ip.split('::')
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const full = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
  return `${full
    .slice(0, 4)
    .map((part) => part.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`
}

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
  const limits = SCOPE_LIMITS[scope] ?? { subject: PER_SUBJECT, ip: PER_IP }
  const list = [
    { limiter: limiter.use(limits.subject), key: `${scope}:subject:${subject.toLowerCase()}` },
  ]
  if (limits.ip)
    list.push({ limiter: limiter.use(limits.ip), key: `${scope}:ip:${addressGroup(ip)}` })
  return list
}

/** Counts one request against a limiter; the seconds to wait when it is over, else null. */
async function consumeOrWait(l: ReturnType<typeof limiter.use>, key: string) {
  try {
    await l.consume(key)
    return null
  } catch (error) {
    if (error instanceof errors.E_TOO_MANY_REQUESTS) return error.response.availableIn
    throw error
  }
}

/**
 * Runs one credential check under brute-force limits. The attempt is counted BEFORE the check,
 * with the stores' atomic increments, so N parallel requests get at most the limit's guesses; a
 * success forgets the account's failures and gives the address its count back. An account with
 * many recent failures (from any address) is checked after a growing delay, never locked.
 */
export async function throttledAttempt(
  scope: Scope,
  subject: string,
  ip: string,
  check: () => Promise<boolean>
) {
  const account = subject.toLowerCase()
  const group = addressGroup(ip)
  const pair = {
    limiter: limiter.use(PER_ACCOUNT_AND_ADDRESS),
    key: `${scope}:pair:${account}:${group}`,
  }
  const address = { limiter: limiter.use(PER_ADDRESS), key: `${scope}:address:${group}` }
  const failures = { limiter: limiter.use(ACCOUNT_FAILURES), key: `${scope}:failures:${account}` }
  for (const { limiter: l, key } of [pair, address]) {
    const waitS = await consumeOrWait(l, key)
    if (waitS !== null) throw new TooManyAttemptsException(waitS)
  }
  const failed = (await failures.limiter.get(failures.key))?.consumed ?? 0
  if (failed >= FREE_FAILURES) {
    const delay = Math.min(MAX_DELAY_MS, 100 * 2 ** (failed - FREE_FAILURES))
    await new Promise((resolve) => setTimeout(resolve, delay))
  }
  if (await check()) {
    await Promise.all([
      pair.limiter.delete(pair.key),
      failures.limiter.delete(failures.key),
      address.limiter.decrement(address.key),
    ])
    return true
  }
  await consumeOrWait(failures.limiter, failures.key)
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
  for (const { limiter: l, key } of k) {
    if (await l.isBlocked(key)) return l.availableIn(key)
  }
  for (const { limiter: l, key } of k) {
    const waitS = await consumeOrWait(l, key)
    if (waitS !== null) return waitS
  }
  return null
}
