import { randomBytes } from 'node:crypto'
import { DateTime } from 'luxon'
import cache from '@adonisjs/cache/services/main'
import db from '@adonisjs/lucid/services/db'
import { recordAudit } from '#platform'
import { DomainException } from '#core'
import Tenant from '#tenants/models/tenant'
import { domainCacheKey } from '#tenants/services/domains'

/** 422 on `domain`: another workspace uses it. */
export class DomainTakenError extends DomainException {
  constructor(message: string) {
    super(message, { code: 'E_DOMAIN_TAKEN', field: 'domain' })
  }
}

async function forget(...domains: (string | null)[]) {
  for (const domain of domains) if (domain) await cache.delete({ key: domainCacheKey(domain) })
}

/**
 * Sets (or changes) the custom domain with a fresh verification token; it serves the tenant
 * only once verified. A domain another tenant uses is refused.
 */
export async function setCustomDomain(input: { tenant: Tenant; domain: string; actorId: string }) {
  const { tenant } = input
  const previous = tenant.customDomain
  if (previous === input.domain) return tenant
  tenant.merge({
    customDomain: input.domain,
    domainVerificationToken: randomBytes(16).toString('hex'),
    domainVerifiedAt: null,
  })
  try {
    // In its own (sub)transaction, so a taken domain never aborts a transaction around it.
    await db.transaction((trx) => tenant.useTransaction(trx).save())
  } catch (error: any) {
    if (error?.code === '23505') {
      await tenant.refresh()
      throw new DomainTakenError(`${input.domain} is already used by another workspace.`)
    }
    throw error
  }
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
  tenant.merge({ customDomain: null, domainVerificationToken: null, domainVerifiedAt: null })
  await tenant.save()
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

/** Marks the domain verified (DNS check passed, or an operator vouched for it). */
export async function markDomainVerified(input: {
  tenant: Tenant
  via: 'dns' | 'operator'
  actorId?: string | null
  actorLabel?: string | null
}) {
  const { tenant } = input
  if (!tenant.customDomain) throw new Error('no custom domain to verify')
  if (tenant.domainVerifiedAt) return tenant
  tenant.domainVerifiedAt = DateTime.now()
  await tenant.save()
  await forget(tenant.customDomain)
  await recordAudit({
    action: 'tenants.domain.verified',
    actorId: input.actorId,
    actorLabel: input.actorLabel,
    tenantId: tenant.id,
    subjectType: 'tenant',
    subjectId: tenant.id,
    changes: { custom_domain: tenant.customDomain, via: input.via },
  })
  return tenant
}
