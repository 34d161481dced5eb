import { args, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { OperatorCommand } from '#core'

/**
 * flag:set <key> <on|off|unset> [--tenant=<slug>] [--plan=<id>] — switches a feature flag
 * globally, for a plan or for one workspace (`unset` removes that row: the next scope decides).
 */
export default class FlagSet extends OperatorCommand {
  static commandName = 'flag:set'
  static description = 'Switch a feature flag globally, per plan or per tenant'
  static options: CommandOptions = { startApp: true }

  @args.string({ description: 'Flag key, e.g. marketplace.publish' })
  declare key: string

  @args.string({ description: 'on, off or unset' })
  declare value: string

  @flags.string({ description: 'Tenant slug' })
  declare tenant?: string

  @flags.string({ description: 'Plan id' })
  declare plan?: string

  async run() {
    const { FLAGS, setFlag } = await import('#platform')
    const { Tenant } = await import('#tenants')
    if (!(this.key in FLAGS))
      return this.fail(`unknown flag "${this.key}"; known: ${Object.keys(FLAGS).join(', ')}`)
    const value = { on: true, off: false, unset: null }[this.value]
    if (value === undefined) return this.fail('the value is on, off or unset')
    if (this.tenant && this.plan) return this.fail('give --tenant or --plan, not both')
    let scope: 'global' | 'plan' | 'tenant' = 'global'
    let scopeId: string | null = null
    if (this.tenant) {
      const tenant = await Tenant.findBy('slug', this.tenant)
      if (!tenant) return this.fail(`no tenant with slug "${this.tenant}"`)
      scope = 'tenant'
      scopeId = tenant.id
    } else if (this.plan) {
      scope = 'plan'
      scopeId = this.plan
    }
    await setFlag(this.key as keyof typeof FLAGS, scope, scopeId, value)
    this.output(
      `${this.key} ${this.value} (${scope}${this.tenant ? ` ${this.tenant}` : this.plan ? ` ${this.plan}` : ''})`
    )
  }
}
