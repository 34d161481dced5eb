import { args, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { OperatorCommand } from '#core'

/**
 * tenant:verify-domain <slug> [--dns] → marks the workspace's custom domain verified (the
 * operator vouches for it, for when DNS is unreachable), or with --dns checks the TXT record
 * first. Prints the domain. Refused, like the owner's check, for an expired claim or a domain
 * another workspace verified first.
 */
export default class TenantVerifyDomain extends OperatorCommand {
  static commandName = 'tenant:verify-domain'
  static description =
    "Verify a workspace's custom domain (operator override, or --dns to check the TXT record)"
  static options: CommandOptions = { startApp: true }

  @args.string({ description: 'Workspace slug' })
  declare slug: string

  @flags.boolean({ description: 'Check the _agora TXT record instead of vouching for the domain' })
  declare dns?: boolean

  async run() {
    const { default: Tenant } = await import('#tenants/models/tenant')
    const { claimProblem, markDomainVerified } = await import('#tenants/actions/domains')
    const { checkDomainTxt } = await import('#tenants/services/domains')
    const tenant = await Tenant.findBy('slug', this.slug.trim().toLowerCase())
    if (!tenant) return this.fail(`no workspace with slug "${this.slug}"`)
    if (!tenant.customDomain || !tenant.domainVerificationToken)
      return this.fail(`${tenant.slug} has no custom domain`)
    const problem = await claimProblem(tenant)
    if (problem) return this.fail(problem.message)
    if (this.dns) {
      const check = await checkDomainTxt(tenant.customDomain, tenant.domainVerificationToken)
      if (!check.ok) return this.fail(check.message)
    }
    if (tenant.domainVerifiedAt) this.notice(`${tenant.customDomain} was already verified`)
    await markDomainVerified({ tenant, via: this.dns ? 'dns' : 'operator', actorLabel: 'cli' })
    this.output(tenant.customDomain)
  }
}
