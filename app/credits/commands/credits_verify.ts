import { args } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { OperatorCommand } from '#core'
import { tenantBySlug } from '#credits/commands/helpers'

/** credits:verify [tenant-slug] → one line per ledger invariant violation; exit 1 if any. */
export default class CreditsVerify extends OperatorCommand {
  static commandName = 'credits:verify'
  static description = 'Verify the credit ledger invariants (one line per violation; exit 1 if any)'
  static options: CommandOptions = { startApp: true }

  @args.string({ description: 'Tenant slug (default: every tenant)', required: false })
  declare slug?: string

  async run() {
    let tenantId: string | null = null
    if (this.slug !== undefined) {
      const tenant = await tenantBySlug(this.slug)
      if (!tenant) return this.fail(`no tenant with slug "${this.slug}"`)
      tenantId = tenant.id
    }
    const { verifyLedger } = await import('#credits')
    const problems = await verifyLedger(tenantId)
    for (const problem of problems) this.output(problem)
    if (problems.length) {
      this.exitCode = 1
      this.notice(`${problems.length} violation(s)`)
    } else {
      this.notice('ledger verified: no violations')
    }
  }
}
