import { flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { OperatorCommand } from '#core'

const AGENTS = 10
const MEMBERS = 20
const DAYS = 90
const BATCH = 500_000
/** Bytes a seeded run costs on disk (heap, four indexes, projected_runs), measured on PostgreSQL 15. */
export const BYTES_PER_RUN = 450

/**
 * bench:seed --tenant=<slug> --runs=<n>: a benchmark workspace (created with an owner, 20
 * members and 10 agents when missing) with n runs spread over the last 90 days — each member
 * uses two agents, each agent one model — inserted with generate_series in batches, then its
 * rollups rebuilt with SQL. PostgreSQL only (never PGlite).
 */
export default class BenchSeed extends OperatorCommand {
  static commandName = 'bench:seed'
  static description =
    'Seed a tenant with n synthetic runs and their rollups (benchmarks, PostgreSQL only)'
  static options: CommandOptions = { startApp: true }

  @flags.string({ description: 'Tenant slug (created when missing)', required: true })
  declare tenant: string

  @flags.number({ description: 'Runs to add', default: 1_000_000 })
  declare runs: number

  async run() {
    if (!process.env.DATABASE_URL)
      return this.fail(
        'bench:seed needs DATABASE_URL (PostgreSQL): the embedded PGlite is not for benchmarks'
      )
    if (!Number.isInteger(this.runs) || this.runs < 1)
      return this.fail('--runs must be a positive whole number')
    const db = (await import('@adonisjs/lucid/services/db')).default
    const { Tenant, createTenant, Membership } = await import('#tenants')
    const { User } = await import('#auth')
    const { rebuildTenant } = await import('#analytics/services/projector')
    const { benchAgents, insertSyntheticRuns } = await import('#agents')
    this.notice(
      `needs about ${((this.runs * BYTES_PER_RUN) / 1e9).toFixed(1)} GB of free disk on the database server`
    )

    const started = Date.now()
    const userFor = async (email: string, name: string) =>
      (await User.findBy('email', email)) ??
      (await User.create({ email, name, password: `bench ${email} passphrase`, timeZone: 'UTC' }))
    let tenant = await Tenant.findBy('slug', this.tenant)
    if (!tenant) {
      const owner = await userFor(`owner@${this.tenant}.bench.test`, 'Bench Owner')
      tenant = await createTenant({
        name: `Bench ${this.tenant}`,
        slug: this.tenant,
        ownerId: owner.id,
        timeZone: 'Europe/Paris',
      })
    }
    const members: string[] = []
    for (let i = 0; i < MEMBERS; i++) {
      const user = await userFor(`member${i}@${this.tenant}.bench.test`, `Member ${i}`)
      if (
        !(await Membership.query().where('tenantId', tenant.id).where('userId', user.id).first())
      ) {
        await Membership.create({ tenantId: tenant.id, userId: user.id, role: 'member' })
      }
      members.push(user.id)
    }
    // The runs are the agents module's: it makes the agents and inserts the runs.
    const agents = await benchAgents(tenant.id, AGENTS)
    await insertSyntheticRuns({
      tenantId: tenant.id,
      agentIds: agents,
      memberIds: members,
      runs: this.runs,
      days: DAYS,
      batch: BATCH,
      onBatch: (done) =>
        this.notice(
          `runs: ${done} / ${this.runs} (${((Date.now() - started) / 1000).toFixed(0)} s)`
        ),
    })
    const seeded = Date.now()
    const counts = await rebuildTenant(tenant.id)
    await db.rawQuery('ANALYZE usage_hourly; ANALYZE usage_daily')
    const seconds = (t: number) => ((t - started) / 1000).toFixed(1)
    this.output(
      `tenant=${tenant.slug} tenant_id=${tenant.id} runs=${counts.runs} hourly=${counts.hourly} ` +
        `daily=${counts.daily} insert_s=${seconds(seeded)} total_s=${seconds(Date.now())}`
    )
  }
}
