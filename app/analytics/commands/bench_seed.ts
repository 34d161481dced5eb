import { flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { OperatorCommand } from '#core'

const AGENTS = 10
const DAYS = 90
const BATCH = 500_000
/** Bytes a seeded run costs on disk (heap, four indexes, projected_runs), measured on PostgreSQL 15. */
export const BYTES_PER_RUN = 450
/** The password of every bulk-created member (owners have their own, see below). */
export const MEMBER_PASSWORD = 'bench member passphrase'

/**
 * bench:seed --tenant=<slug> --runs=<n> [--members=20] [--tenants=1]: benchmark workspaces
 * (created when missing, on the business plan, with an owner, members and 10 agents) with n runs
 * in all spread over the last 90 days — each member uses two agents, each agent one model —
 * inserted with generate_series in batches, then their rollups rebuilt with SQL. With
 * --tenants=N the workspaces are <slug>-1 … <slug>-N and share the runs evenly. The owner of
 * <slug> logs in as owner@<slug>.bench.test with the password "bench owner@<slug>.bench.test
 * passphrase". PostgreSQL only (never PGlite).
 */
export default class BenchSeed extends OperatorCommand {
  static commandName = 'bench:seed'
  static description =
    'Seed benchmark workspaces with n synthetic runs and their rollups (benchmarks, PostgreSQL only)'
  static options: CommandOptions = { startApp: true }

  @flags.string({ description: 'Workspace slug (a prefix with --tenants)', required: true })
  declare tenant: string

  @flags.number({ description: 'Runs to add, in all', default: 1_000_000 })
  declare runs: number

  @flags.number({ description: 'Members per workspace', default: 20 })
  declare members: number

  @flags.number({
    description: 'Workspaces (slugs <tenant>-1 … <tenant>-N when more than one)',
    default: 1,
  })
  declare tenants: number

  async run() {
    if (!process.env.DATABASE_URL)
      return this.fail(
        'bench:seed needs DATABASE_URL (PostgreSQL): the embedded PGlite is not for benchmarks'
      )
    for (const [name, value] of [
      ['--runs', this.runs],
      ['--members', this.members],
      ['--tenants', this.tenants],
    ] as const) {
      if (!Number.isInteger(value) || value < 1)
        return this.fail(`${name} must be a positive whole number`)
    }
    const db = (await import('@adonisjs/lucid/services/db')).default
    const { Tenant, createTenant, insertBenchMembers } = await import('#tenants')
    const { User, insertBenchUsers } = await import('#auth')
    const { rebuildTenant } = await import('#analytics/services/projector')
    const { benchAgents, insertSyntheticRuns } = await import('#agents')
    this.notice(
      `needs about ${((this.runs * BYTES_PER_RUN) / 1e9).toFixed(1)} GB of free disk on the database server`
    )

    const started = Date.now()
    const slugs =
      this.tenants === 1
        ? [this.tenant]
        : Array.from({ length: this.tenants }, (_, i) => `${this.tenant}-${i + 1}`)
    const seeded: { id: string; slug: string }[] = []
    let done = 0
    for (const [i, slug] of slugs.entries()) {
      const ownerEmail = `owner@${slug}.bench.test`
      const owner =
        (await User.findBy('email', ownerEmail)) ??
        (await User.create({
          email: ownerEmail,
          name: 'Bench Owner',
          password: `bench ${ownerEmail} passphrase`,
          timeZone: 'UTC',
        }))
      const tenant =
        (await Tenant.findBy('slug', slug)) ??
        (await createTenant({
          name: `Bench ${slug}`,
          slug,
          ownerId: owner.id,
          planId: 'business',
          timeZone: 'Europe/Paris',
        }))
      const members = await insertBenchUsers(
        Array.from({ length: this.members }, (_, m) => `member${m}@${slug}.bench.test`),
        MEMBER_PASSWORD
      )
      await insertBenchMembers(tenant.id, members)
      // The runs are the agents module's: it makes the agents and inserts the runs.
      const agents = await benchAgents(tenant.id, AGENTS)
      const runs = Math.floor((this.runs * (i + 1)) / slugs.length) - done
      done += runs
      await insertSyntheticRuns({
        tenantId: tenant.id,
        agentIds: agents,
        memberIds: members,
        runs,
        days: DAYS,
        batch: BATCH,
        analyze: slugs.length === 1,
        onBatch: (n) =>
          slugs.length === 1 &&
          this.notice(`runs: ${n} / ${runs} (${((Date.now() - started) / 1000).toFixed(0)} s)`),
      })
      if (slugs.length > 1 && (i + 1) % 50 === 0)
        this.notice(
          `workspaces: ${i + 1} / ${slugs.length} (${((Date.now() - started) / 1000).toFixed(0)} s)`
        )
      seeded.push(tenant)
    }
    if (slugs.length > 1) await db.rawQuery('ANALYZE runs')
    const inserted = Date.now()
    const totals = { runs: 0, hourly: 0, daily: 0 }
    for (const tenant of seeded) {
      const counts = await rebuildTenant(tenant.id)
      totals.runs += counts.runs
      totals.hourly += counts.hourly
      totals.daily += counts.daily
    }
    await db.rawQuery(
      'ANALYZE usage_hourly; ANALYZE usage_daily; ANALYZE usage_dims_daily; ' +
        'ANALYZE usage_dims_weekly; ANALYZE usage_dims_monthly; ANALYZE usage_days; ' +
        'ANALYZE usage_running'
    )
    const seconds = (t: number) => ((t - started) / 1000).toFixed(1)
    this.output(
      `tenant=${seeded[0].slug} tenant_id=${seeded[0].id} tenants=${seeded.length} runs=${totals.runs} ` +
        `hourly=${totals.hourly} daily=${totals.daily} insert_s=${seconds(inserted)} total_s=${seconds(Date.now())}`
    )
  }
}
