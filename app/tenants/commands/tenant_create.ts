import { args, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { OperatorCommand } from '#core'

/** tenant:create <slug> --name= --owner=<email> [--plan=] → prints the tenant id. */
export default class TenantCreate extends OperatorCommand {
  static commandName = 'tenant:create'
  static description = 'Create a workspace owned by an existing user (prints the tenant id)'
  static options: CommandOptions = { startApp: true }

  @args.string({ description: 'Slug (lower-case letters, digits, dashes)' })
  declare slug: string

  @flags.string({ description: 'Display name' })
  declare name?: string

  @flags.string({ description: 'Email of the first owner (an existing user)' })
  declare owner?: string

  @flags.string({ description: 'Plan id (default: free)' })
  declare plan?: string

  async run() {
    const { createTenant } = await import('#tenants/actions/create_tenant')
    const { SLUG_PATTERN } = await import('#core')
    const { User } = await import('#auth')
    const slug = this.slug.trim().toLowerCase()
    const name = (this.name ?? '').trim()
    if (!SLUG_PATTERN.test(slug))
      return this.fail(
        `"${this.slug}" is not a valid slug (a-z, 0-9 and dashes, 1–40 characters, no dash at either end)`
      )
    if (!name || name.length > 120) return this.fail('--name is required (1–120 characters)')
    if (!this.owner?.trim()) return this.fail('--owner=<email> is required')
    const plan = this.plan?.trim() || 'free'
    if (!/^[a-z0-9][a-z0-9_-]{0,39}$/.test(plan))
      return this.fail(`"${plan}" is not a valid plan id`)
    const owner = await User.query()
      .whereRaw('lower(email) = lower(?)', [this.owner.trim()])
      .first()
    if (!owner)
      return this.fail(`no user with email ${this.owner.trim()} (create it with user:create)`)
    if (owner.disabledAt) return this.fail(`the user ${owner.email} is disabled`)
    const tenant = await createTenant({ name, slug, ownerId: owner.id, planId: plan })
    this.notice(`created workspace ${slug} owned by ${owner.email}`)
    this.output(tenant.id)
  }
}
