import type { HttpContext } from '@adonisjs/core/http'
import { InvalidInputException, onRefusal, urlFor } from '#core'
import {
  claimProblem,
  markDomainVerified,
  removeCustomDomain,
  setCustomDomain,
} from '#tenants/actions/domains'
import { checkDomainTxt, normaliseDomain } from '#tenants/services/domains'
import { domainValidator } from '#tenants/validators/tenants'
import { assertWritable, authorize, currentTenant } from '#tenants/services/tenancy'

/** The workspace's custom domain (owners): set, remove, verify through DNS. */
export default class DomainController {
  async update(ctx: HttpContext) {
    const { tenant, membership } = this.#owner(ctx)
    onRefusal(ctx, {
      redirect: `${urlFor('tenants.settings.edit', { tenant: tenant.slug })}#domain`,
    })
    const input = await ctx.request.validateUsing(domainValidator)
    const parsed = normaliseDomain(input.domain)
    if ('error' in parsed) throw new InvalidInputException('domain', parsed.error)
    await setCustomDomain({ tenant, domain: parsed.domain, actorId: membership.userId })
    ctx.session.flash('success', `Domain saved. Publish the TXT record below, then check it.`)
    return ctx.response.redirect(
      `${urlFor('tenants.settings.edit', { tenant: tenant.slug })}#domain`
    )
  }

  async destroy(ctx: HttpContext) {
    const { tenant, membership } = this.#owner(ctx)
    await removeCustomDomain({ tenant, actorId: membership.userId })
    ctx.session.flash('success', 'Custom domain removed.')
    return ctx.response.redirect(
      `${urlFor('tenants.settings.edit', { tenant: tenant.slug })}#domain`
    )
  }

  /** POST /t/:tenant/domain/verification: looks the TXT record up now (a short timeout). */
  async verify(ctx: HttpContext) {
    const { tenant, membership } = this.#owner(ctx)
    onRefusal(ctx, {
      redirect: `${urlFor('tenants.settings.edit', { tenant: tenant.slug })}#domain`,
    })
    if (!tenant.customDomain || !tenant.domainVerificationToken) {
      ctx.session.flash('error', 'Set a custom domain first.')
    } else if (tenant.domainVerifiedAt) {
      ctx.session.flash('info', `${tenant.customDomain} is already verified.`)
    } else {
      // An expired claim, or a domain verified elsewhere, is refused before asking DNS.
      const problem = await claimProblem(tenant)
      if (problem) throw problem
      const check = await checkDomainTxt(tenant.customDomain, tenant.domainVerificationToken)
      if (check.ok) {
        await markDomainVerified({ tenant, via: 'dns', actorId: membership.userId })
        ctx.session.flash(
          'success',
          `${tenant.customDomain} is verified: the workspace now answers on it.`
        )
      } else {
        ctx.session.flash(check.reason === 'unreachable' ? 'warning' : 'error', check.message)
      }
    }
    return ctx.response.redirect(
      `${urlFor('tenants.settings.edit', { tenant: tenant.slug })}#domain`
    )
  }

  #owner(ctx: HttpContext) {
    authorize(ctx, 'tenant.domain')
    assertWritable(ctx)
    return currentTenant(ctx)
  }
}
