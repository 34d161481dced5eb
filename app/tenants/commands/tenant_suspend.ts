import { args, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { OperatorCommand } from '#core'

/** tenant:suspend <slug> [--lift] [--reason=] → prints `<slug>\t<suspended|active>`. */
export default class TenantSuspend extends OperatorCommand {
  static commandName = 'tenant:suspend'
  static description =
    'Suspend a workspace (read-only, runs refused), or lift the suspension with --lift'
  static options: CommandOptions = { startApp: true }

  @args.string({ description: 'Workspace slug' })
  declare slug: string

  @flags.boolean({ description: 'Lift the suspension instead' })
  declare lift?: boolean

  @flags.string({ description: 'Why (shown to the members)' })
  declare reason?: string

  async run() {
    const { default: Tenant } = await import('#tenants/models/tenant')
    const { liftSuspension, suspendTenant } = await import('#tenants/actions/lifecycle')
    const tenant = await Tenant.findBy('slug', this.slug.trim().toLowerCase())
    if (!tenant) return this.fail(`no workspace with slug "${this.slug}"`)
    if (this.lift) {
      if (this.reason) return this.fail('--reason applies to suspending, not to --lift')
      if (!tenant.suspended) this.notice(`${tenant.slug} was not suspended`)
      await liftSuspension({ tenantId: tenant.id, actorLabel: 'cli' })
      this.output(`${tenant.slug}\tactive`)
    } else {
      if (tenant.suspended) this.notice(`${tenant.slug} was already suspended`)
      await suspendTenant({ tenantId: tenant.id, reason: this.reason, actorLabel: 'cli' })
      this.output(`${tenant.slug}\tsuspended`)
    }
  }
}
