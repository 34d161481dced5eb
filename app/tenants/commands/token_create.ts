import { args, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { OperatorCommand } from '#core'

const UNITS = { m: 'minutes', h: 'hours', d: 'days' } as const

/**
 * token:create <email> --tenant=<slug> [--abilities=a,b] [--expires-in=30d] [--name=] → prints
 * the token alone, once (only its hash is stored). The user must be a member of the workspace;
 * without --expires-in the token does not expire.
 */
export default class TokenCreate extends OperatorCommand {
  static commandName = 'token:create'
  static description = 'Create an API token for a member of a workspace (prints the token once)'
  static options: CommandOptions = { startApp: true }

  @args.string({ description: 'Email of the user' })
  declare email: string

  @flags.string({ description: 'Workspace slug the token acts in' })
  declare tenant?: string

  @flags.string({ description: 'Comma-separated abilities (default: everything the role allows)' })
  declare abilities?: string

  @flags.string({ description: 'Lifetime: <n>m, <n>h or <n>d (e.g. 30d); default: no expiry' })
  declare expiresIn?: string

  @flags.string({ description: 'Token name (default: cli)' })
  declare name?: string

  async run() {
    const { API_ABILITIES, User, createApiToken } = await import('#auth')
    const { default: Tenant } = await import('#tenants/models/tenant')
    const { default: Membership } = await import('#tenants/models/membership')

    if (!this.tenant?.trim()) return this.fail('--tenant=<slug> is required')
    const abilities = [
      ...new Set(
        (this.abilities ?? '')
          .split(',')
          .map((a) => a.trim())
          .filter(Boolean)
      ),
    ]
    const unknown = abilities.filter(
      (ability) => !(API_ABILITIES as readonly string[]).includes(ability)
    )
    if (unknown.length)
      return this.fail(
        `unknown abilit${unknown.length > 1 ? 'ies' : 'y'} ${unknown.join(', ')} (known: ${API_ABILITIES.join(', ')})`
      )
    let expiresIn: string | undefined
    if (this.expiresIn !== undefined) {
      const match = /^([1-9]\d{0,4})([mhd])$/.exec(this.expiresIn.trim())
      const days = match
        ? Number(match[1]) / ({ m: 1440, h: 24, d: 1 } as const)[match[2] as 'm' | 'h' | 'd']
        : 0
      if (!match || days > 3650)
        return this.fail(
          `--expires-in must look like 30d, 12h or 90m (at most 3650 days), not "${this.expiresIn}"`
        )
      expiresIn = `${match[1]} ${UNITS[match[2] as keyof typeof UNITS]}`
    }
    const name = (this.name ?? 'cli').trim()
    if (!name || name.length > 80) return this.fail('--name must be 1–80 characters')

    const user = await User.query().whereRaw('lower(email) = lower(?)', [this.email.trim()]).first()
    if (!user) return this.fail(`no user with email ${this.email.trim()}`)
    if (user.disabledAt) return this.fail(`the user ${user.email} is disabled`)
    const tenant = await Tenant.findBy('slug', this.tenant.trim().toLowerCase())
    if (!tenant) return this.fail(`no workspace with slug "${this.tenant.trim()}"`)
    const membership = await Membership.query()
      .where('tenantId', tenant.id)
      .where('userId', user.id)
      .first()
    if (!membership) return this.fail(`${user.email} is not a member of ${tenant.slug}`)

    const token = await createApiToken({
      user,
      tenantId: tenant.id,
      name,
      abilities: abilities as (typeof API_ABILITIES)[number][],
      expiresIn,
    })
    const scope = abilities.length ? `; ${abilities.join(', ')}` : ''
    const expiry = token.expiresAt ? `expires ${token.expiresAt.toISOString()}` : 'no expiry'
    this.notice(`token for ${user.email} in ${tenant.slug} (${membership.role}${scope}), ${expiry}`)
    this.output(token.secret)
  }
}
