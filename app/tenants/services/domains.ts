import { Resolver } from 'node:dns/promises'
import { DateTime } from 'luxon'
import { appUrl } from '#config/app'

/** Longest we wait for DNS before telling the owner it could not be reached. */
export const DNS_TIMEOUT_MS = 3000

/**
 * Days a claimed domain may stay unverified. A pending claim reserves nothing (other workspaces
 * may claim the same domain; the first to verify wins), and an expired one no longer verifies:
 * saving the domain again starts a new claim with a new token.
 */
export const DOMAIN_CLAIM_TTL_DAYS = 7

type DomainClaim = {
  customDomain: string | null
  domainVerifiedAt: DateTime | null
  domainClaimedAt: DateTime | null
}

/** When a pending claim stops verifying (null: none pending, or made before claims expired). */
export function domainClaimExpiresAt(tenant: DomainClaim) {
  if (!tenant.customDomain || tenant.domainVerifiedAt || !tenant.domainClaimedAt) return null
  return tenant.domainClaimedAt.plus({ days: DOMAIN_CLAIM_TTL_DAYS })
}

/** The workspace's custom domain: verified (it serves), pending, expired, or none (null). */
export function domainState(tenant: DomainClaim): 'verified' | 'pending' | 'expired' | null {
  if (!tenant.customDomain) return null
  if (tenant.domainVerifiedAt) return 'verified'
  const expiresAt = domainClaimExpiresAt(tenant)
  return expiresAt && expiresAt <= DateTime.now() ? 'expired' : 'pending'
}

/** Where the owner publishes the token, and what the record must say. */
export function txtRecordName(domain: string) {
  return `_agora.${domain}`
}
export function txtRecordValue(token: string) {
  return `agora-verification=${token}`
}

/** Cache key of the host → tenant slug lookup (tenant_host middleware); deleted on every change. */
export function domainCacheKey(host: string) {
  return `tenants:domain:${host}`
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/
const rootHost = new URL(appUrl).hostname.toLowerCase()

/**
 * A custom domain as stored (lower case, no trailing dot), or the reason it is refused: it must
 * be a host name with a dot and an alphabetic top-level label, not an address of Agora itself.
 */
export function normaliseDomain(input: string): { domain: string } | { error: string } {
  const domain = input.trim().toLowerCase().replace(/\.$/, '')
  if (/[/:@\s]/.test(domain))
    return { error: 'Enter a host name only, like docs.example.com (no https://, port or path).' }
  const labels = domain.split('.')
  if (
    domain.length > 253 ||
    labels.length < 2 ||
    !labels.every((label) => LABEL.test(label)) ||
    !/^[a-z][a-z0-9-]*$/.test(labels.at(-1)!)
  ) {
    return { error: 'Enter a valid host name, like docs.example.com.' }
  }
  if (domain === rootHost || domain.endsWith(`.${rootHost}`))
    return { error: `Addresses under ${rootHost} belong to Agora; use a domain of your own.` }
  return { domain }
}

type TxtLookup = (name: string) => Promise<string[][]>

const systemLookup: TxtLookup = (name) =>
  new Resolver({ timeout: DNS_TIMEOUT_MS, tries: 1 }).resolveTxt(name)
let lookupTxt: TxtLookup = systemLookup

/** Replaces the DNS lookup (tests); without an argument, restores the system resolver. */
export function useTxtLookup(lookup?: TxtLookup) {
  lookupTxt = lookup ?? systemLookup
}

export type DnsCheck =
  { ok: true } | { ok: false; reason: 'missing' | 'unreachable'; message: string }

/**
 * Looks for the verification TXT record. Every failure is an answer for the owner, never an
 * exception: no record (yet), a record with another value, or DNS that cannot be reached.
 */
export async function checkDomainTxt(domain: string, token: string): Promise<DnsCheck> {
  const name = txtRecordName(domain)
  let records: string[][]
  try {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(Object.assign(new Error('DNS timeout'), { code: 'ETIMEOUT' })),
        DNS_TIMEOUT_MS + 500
      )
    })
    records = await Promise.race([lookupTxt(name), timeout]).finally(() => clearTimeout(timer))
  } catch (error: any) {
    if (error?.code === 'ENOTFOUND' || error?.code === 'ENODATA') {
      return {
        ok: false,
        reason: 'missing',
        message: `No TXT record found at ${name} yet. DNS changes can take a while to appear; try again later.`,
      }
    }
    return {
      ok: false,
      reason: 'unreachable',
      message:
        `DNS could not be reached to check ${name} (${error?.code ?? 'error'}). ` +
        'Try again later, or ask an administrator to verify the domain.',
    }
  }
  const expected = txtRecordValue(token)
  if (records.some((chunks) => chunks.join('') === expected)) return { ok: true }
  return {
    ok: false,
    reason: 'missing',
    message: `The TXT records at ${name} do not contain "${expected}" yet.`,
  }
}
