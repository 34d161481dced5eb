import { randomBytes } from 'node:crypto'
import { DateTime } from 'luxon'
import cache from '@adonisjs/cache/services/main'
import db from '@adonisjs/lucid/services/db'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import { recordAudit } from '#platform'
import { DomainException } from '#core'
import Tenant from '#tenants/models/tenant'
import { withTenant } from '#tenants/services/tenancy'
import { DOMAIN_CLAIM_TTL_DAYS, domainCacheKey, domainState } from '#tenants/services/domains'

/** 422 on `domain`: another workspace has verified it. */
export class DomainTakenError extends DomainException {
  constructor(message: string) {
    super(message, { code: 'E_DOMAIN_TAKEN', field: 'domain' })
  }
}

/** 409: this pending claim can no longer be verified. */
export class DomainClaimError extends DomainException {
  constructor(
    readonly reason: 'taken' | 'expired' | 'changed',
    message: string
  ) {
    const codes = {
      taken: 'E_DOMAIN_TAKEN',
      expired: 'E_DOMAIN_CLAIM_EXPIRED',
      changed: 'E_DOMAIN_CLAIM_CHANGED',
    }
    super(message, { status: 409, code: codes[reason] })
  }
}

async function forget(...domains: (string | null)[]) {
  for (const domain of domains) if (domain) await cache.delete({ key: domainCacheKey(domain) })
}

/**
 * Serialises claims and verifications of one domain (on PostgreSQL; PGlite runs one
 * transaction at a time anyway), so two verifications cannot both win.
 */
function lockDomain(trx: TransactionClientContract, domain: string) {
  return trx.rawQuery(`SELECT pg_advisory_xact_lock(hashtext(?))`, [`tenants.domain:${domain}`])
}

/** Through the owner's function: a tenant-bound transaction sees no other tenant's row. */
async function verifiedElsewhere(
  domain: string,
  tenantId: string,
  trx?: TransactionClientContract
) {
  const result = await (trx ?? db.connection()).rawQuery(
    'SELECT tenant_domain_verified_elsewhere(?, ?) AS taken',
    [domain, tenantId]
  )
  return result.rows[0]?.taken === true
}

/**
 * Claims (or changes) the custom domain with a fresh verification token; it serves the tenant
 * only once verified. A pending claim reserves nothing: only a domain another tenant has
 * verified is refused. Saving a pending claim's domain again keeps its token; an expired one
 * is renewed.
 */
export async function setCustomDomain(input: { tenant: Tenant; domain: string; actorId: string }) {
  const { tenant } = input
  const previous = tenant.customDomain
  // The same domain again keeps a verified or still verifiable claim (and its token).
  if (previous === input.domain && !(await claimProblem(tenant))) return tenant
  // In its own transaction, so a taken domain never aborts a transaction around it.
  await withTenant(tenant.id, async (trx) => {
    await lockDomain(trx, input.domain)
    if (await verifiedElsewhere(input.domain, tenant.id, trx))
      throw new DomainTakenError(`${input.domain} is already used by another workspace.`)
    tenant.merge({
      customDomain: input.domain,
      domainVerificationToken: randomBytes(16).toString('hex'),
      domainVerifiedAt: null,
      domainClaimedAt: DateTime.now(),
    })
    await tenant.useTransaction(trx).save()
  })
  await forget(previous, input.domain)
  await recordAudit({
    action: 'tenants.domain.set',
    actorId: input.actorId,
    tenantId: tenant.id,
    subjectType: 'tenant',
    subjectId: tenant.id,
    changes: { custom_domain: [previous, input.domain] },
  })
  return tenant
}

export async function removeCustomDomain(input: { tenant: Tenant; actorId: string }) {
  const { tenant } = input
  const previous = tenant.customDomain
  if (!previous) return tenant
  tenant.merge({
    customDomain: null,
    domainVerificationToken: null,
    domainVerifiedAt: null,
    domainClaimedAt: null,
  })
  await withTenant(tenant.id, (trx) => tenant.useTransaction(trx).save())
  await forget(previous)
  await recordAudit({
    action: 'tenants.domain.removed',
    actorId: input.actorId,
    tenantId: tenant.id,
    subjectType: 'tenant',
    subjectId: tenant.id,
    changes: { custom_domain: [previous, null] },
  })
  return tenant
}

/**
 * Why the tenant's pending claim cannot be verified, or null: the claim expired, or another
 * tenant verified the domain first (the claim stays, refused, until removed or expired).
 */
export async function claimProblem(
  tenant: Tenant,
  trx?: TransactionClientContract
): Promise<DomainClaimError | null> {
  const domain = tenant.customDomain
  if (!domain || tenant.domainVerifiedAt) return null
  if (await verifiedElsewhere(domain, tenant.id, trx))
    return new DomainClaimError(
      'taken',
      `${domain} was verified by another workspace first, so it cannot be verified here. ` +
        'Remove it, or contact support if the domain is yours.'
    )
  if (domainState(tenant) === 'expired')
    return new DomainClaimError(
      'expired',
      `The claim on ${domain} expired: it was not verified within ${DOMAIN_CLAIM_TTL_DAYS} ` +
        'days. Save the domain again for a new TXT record.'
    )
  return null
}

/**
 * Marks the tenant's pending claim verified (DNS check passed, or an operator vouched for it):
 * from then on no other tenant can verify or claim the domain. Refused (see claimProblem) when
 * another tenant verified it first, when the claim expired, or when it changed meanwhile (the
 * checked token is no longer the tenant's).
 */
export async function markDomainVerified(input: {
  tenant: Tenant
  via: 'dns' | 'operator'
  actorId?: string | null
  actorLabel?: string | null
}) {
  const { tenant } = input
  const domain = tenant.customDomain
  if (!domain) throw new Error('no custom domain to verify')
  if (tenant.domainVerifiedAt) return tenant
  await withTenant(tenant.id, async (trx) => {
    await lockDomain(trx, domain)
    const current = await Tenant.query({ client: trx })
      .where('id', tenant.id)
      .forUpdate()
      .firstOrFail()
    if (
      current.customDomain !== domain ||
      current.domainVerificationToken !== tenant.domainVerificationToken
    )
      throw new DomainClaimError(
        'changed',
        'The custom domain changed meanwhile; check the settings page again.'
      )
    if (current.domainVerifiedAt) return
    const problem = await claimProblem(current, trx)
    if (problem) throw problem
    current.domainVerifiedAt = DateTime.now()
    await current.useTransaction(trx).save()
    await recordAudit(
      {
        action: 'tenants.domain.verified',
        actorId: input.actorId,
        actorLabel: input.actorLabel,
        tenantId: tenant.id,
        subjectType: 'tenant',
        subjectId: tenant.id,
        changes: { custom_domain: domain, via: input.via },
      },
      trx
    )
  })
  await tenant.refresh()
  await forget(domain)
  return tenant
}
