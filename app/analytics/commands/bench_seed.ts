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
    const agents: string[] = []
    for (let i = 0; i < AGENTS; i++) {
      const row = (
        await db.rawQuery(
          `INSERT INTO agents (tenant_id, slug, name) VALUES (?, ?, ?)
           ON CONFLICT (tenant_id, slug) WHERE deleted_at IS NULL DO UPDATE SET name = EXCLUDED.name RETURNING id`,
          [tenant.id, `bench-${i}`, `Bench agent ${i}`]
        )
      ).rows[0]
      agents.push(row.id)
    }

    const offset = Number(
      (await db.rawQuery('SELECT count(*) AS n FROM runs WHERE tenant_id = ?', [tenant.id])).rows[0]
        .n
    )
    const since = new Date(Date.now() - DAYS * 86_400_000)
    for (let lo = 0; lo < this.runs; lo += BATCH) {
      const hi = Math.min(this.runs, lo + BATCH) - 1
      // Member i % 20 alternates between two agents; odd agents use the lorem model. Latency is
      // log-normal around 800 ms; 95 % succeed, 4 % fail, 1 % are cancelled.
      await db.rawQuery(
        `INSERT INTO runs (tenant_id, agent_id, member_id, status, input, input_tokens, output_tokens, cost_micros,
                           model, latency_ms, ttft_ms, source, created_at, started_at, finished_at)
         SELECT ?, (?::uuid[])[s.agent + 1], (?::uuid[])[s.member + 1], s.status, 'bench', s.it, s.ot, s.it + 2 * s.ot,
                CASE WHEN s.agent % 2 = 0 THEN 'simulator/echo' ELSE 'simulator/lorem' END,
                s.latency, least(s.latency, 150), 'bench', s.at, s.at, s.at + s.latency * interval '1 millisecond'
         FROM (
           SELECT i % ${MEMBERS} AS member,
                  CASE WHEN (i / ${MEMBERS}) % 2 = 0 THEN (i % ${MEMBERS}) % ${AGENTS}
                       ELSE ((i % ${MEMBERS}) * 3 + 1) % ${AGENTS} END AS agent,
                  CASE WHEN random() < 0.95 THEN 'succeeded' WHEN random() < 0.8 THEN 'failed'
                       ELSE 'cancelled' END AS status,
                  (50 + random() * 1500)::int AS it, (20 + random() * 800)::int AS ot,
                  greatest(1, exp(ln(800) + 0.6 * sqrt(-2 * ln(1 - random()))
                                            * cos(2 * pi() * random())))::int AS latency,
                  ?::timestamptz + ((i + ?)::float8 / ?) * interval '${DAYS} days' AS at
           FROM generate_series(?::bigint, ?::bigint) i
         ) s`,
        [tenant.id, agents, members, since, offset, offset + this.runs, lo, hi]
      )
      this.notice(
        `runs: ${hi + 1} / ${this.runs} (${((Date.now() - started) / 1000).toFixed(0)} s)`
      )
    }
    await db.rawQuery('ANALYZE runs')
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
