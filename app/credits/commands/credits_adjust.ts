import { args, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { OperatorCommand } from '#core'
import { creditsArgument, tenantBySlug } from '#credits/commands/helpers'

/**
 * credits:adjust <tenant-slug> <±credits> --reason= → the ledger entry id; refused when available
 * would go below 0. A negative amount looks like a flag to the parser: write it after `--`
 * (`credits:adjust acme --reason=x -- -5`) or as `--amount=-5`.
 */
export default class CreditsAdjust extends OperatorCommand {
  static commandName = 'credits:adjust'
  static description =
    'Adjust a tenant balance by ±credits (prints the ledger entry id); negative: `-- -5` or --amount=-5'
  static options: CommandOptions = { startApp: true }

  @args.string({ description: 'Tenant slug' })
  declare slug: string

  @args.string({ description: 'Signed credits, e.g. 5 or -2.5 (after --)', required: false })
  declare credits?: string

  @flags.string({ description: 'Signed credits (alternative to the argument)' })
  declare amount?: string

  @flags.string({ description: 'Why (kept in the ledger and the audit trail)', required: true })
  declare reason: string

  async run() {
    if (this.credits !== undefined && this.amount !== undefined)
      return this.fail('give the amount once: as the argument or as --amount')
    const amount = creditsArgument(this.credits ?? this.amount, { signed: true })
    if ('reason' in amount) return this.fail(amount.reason)
    const tenant = await tenantBySlug(this.slug)
    if (!tenant) return this.fail(`no tenant with slug "${this.slug}"`)
    const { adjust } = await import('#credits')
    const { entry } = await adjust({
      tenantId: tenant.id,
      amount: amount.micros,
      reason: this.reason,
      actorLabel: 'cli',
    })
    this.notice(`adjusted ${tenant.slug} by ${(this.credits ?? this.amount)!.trim()} credits`)
    this.output(entry.id)
  }
}
