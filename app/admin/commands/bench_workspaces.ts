import { randomBytes, randomUUID } from 'node:crypto'
import { flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { OperatorCommand } from '#core'

/**
 * bench:workspaces --prefix=<p> --count=<n>: n benchmark workspaces `<p>-<i>`, each with an
 * owner, credits, an API token, a simulator agent `bench` (simulator/echo) and `bench-tools` (the
 * same with the calculator tool, for bench:runs --variant tools); prints one JSON
 * line `{slug, token}` per workspace. `--remove` deletes the workspaces and owners of a prefix.
 * Lets run benchmarks spread load over as many tenants as their baseline has accounts.
 */
export default class BenchWorkspaces extends OperatorCommand {
  static commandName = 'bench:workspaces'
  static description =
    'Create (or --remove) n benchmark workspaces with a token and a simulator agent each'
  static options: CommandOptions = { startApp: true }

  @flags.string({ description: 'Slug prefix', required: true })
  declare prefix: string

  @flags.number({ description: 'Workspaces to create', default: 1 })
  declare count: number

  @flags.boolean({ description: 'Delete the workspaces (and owners) of this prefix instead' })
  declare remove: boolean

  async run() {
    if (!/^[a-z0-9][a-z0-9-]{0,20}$/.test(this.prefix))
      return this.fail('--prefix must be a short slug')
    const db = (await import('@adonisjs/lucid/services/db')).default
    const { User, createApiToken } = await import('#auth')
    const { createTenant } = await import('#tenants')
    const { grant } = await import('#credits')
    const { createAgent } = await import('#agents')
    if (this.remove) {
      const gone = await db.from('tenants').whereLike('slug', `${this.prefix}-%`).delete()
      await db.from('users').whereLike('email', `%@${this.prefix}.bench.test`).delete()
      return this.notice(`removed ${gone} workspaces`)
    }
    if (!Number.isInteger(this.count) || this.count < 1 || this.count > 5000)
      return this.fail('--count must be 1…5000')
    const password = randomBytes(16).toString('hex')
    for (let i = 0; i < this.count; i++) {
      const slug = `${this.prefix}-${i}`
      const owner = await User.create({
        email: `owner-${i}@${this.prefix}.bench.test`,
        name: `Bench owner ${i}`,
        password,
        timeZone: 'UTC',
      })
      const tenant = await createTenant({ name: slug, slug, ownerId: owner.id, timeZone: 'UTC' })
      await grant({
        tenantId: tenant.id,
        amount: 1_000_000n * 1_000_000n,
        reason: 'bench',
        idempotencyKey: `bench-${randomUUID()}`,
      })
      await createAgent({
        tenantId: tenant.id,
        actorId: owner.id,
        name: 'Bench',
        slug: 'bench',
        instructions: 'Repeat.',
        model: 'simulator/echo',
        max_tokens: 64,
      })
      await createAgent({
        tenantId: tenant.id,
        actorId: owner.id,
        name: 'Bench tools',
        slug: 'bench-tools',
        instructions: 'Use the calculator.',
        model: 'simulator/echo',
        max_tokens: 64,
        tools: ['calculator'],
      })
      const token = await createApiToken({
        user: owner,
        tenantId: tenant.id,
        name: 'bench',
        abilities: [],
      })
      this.output(JSON.stringify({ slug, token: token.secret }))
    }
  }
}
