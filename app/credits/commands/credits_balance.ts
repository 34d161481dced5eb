import { args } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { formatCredits, OperatorCommand } from '#core'
import { tenantBySlug } from '#credits/commands/helpers'

/** credits:balance <tenant-slug> → `balance=<c> held=<c> available=<c>`. */
export default class CreditsBalance extends OperatorCommand {
  static commandName = 'credits:balance'
  static description = "Print a tenant's balance, held and available credits"
  static options: CommandOptions = { startApp: true }

  @args.string({ description: 'Tenant slug' })
  declare slug: string

  async run() {
    const tenant = await tenantBySlug(this.slug)
    if (!tenant) return this.fail(`no tenant with slug "${this.slug}"`)
    const { balanceOf } = await import('#credits')
    const { balance, held, available } = await balanceOf(tenant.id)
    this.output(
      `balance=${formatCredits(balance)} held=${formatCredits(held)} available=${formatCredits(available)}`
    )
  }
}
