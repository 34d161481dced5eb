import app from '@adonisjs/core/services/app'
import { BaseSeeder } from '@adonisjs/lucid/seeders'
import { User } from '#auth'
import { createTenant, Membership, Tenant } from '#tenants'
import { grant } from '#credits'
import { Agent } from '#agents'
import { createAgent } from '#agents/actions/save_agent'

const PASSWORD = 'agora demo password'

/** `npm run seed`: a demo workspace with an owner, a member, credits and two agents. Idempotent. */
export default class DemoSeeder extends BaseSeeder {
  async run() {
    // Demo accounts with a published password (one a platform admin) must never reach production.
    if (app.inProduction)
      throw new Error(
        'The demo seed (npm run seed) creates accounts with a published password: ' +
          'it refuses to run in production (NODE_ENV=production).'
      )
    const owner = await this.user('owner@demo.agora.test', 'Olivia Owner', true)
    const member = await this.user('member@demo.agora.test', 'Max Member', false)
    let tenant = await Tenant.findBy('slug', 'demo')
    if (!tenant)
      tenant = await createTenant({ name: 'Demo workspace', slug: 'demo', ownerId: owner.id })
    await Membership.firstOrCreate({ tenantId: tenant.id, userId: member.id }, { role: 'member' })
    await grant({
      tenantId: tenant.id,
      amount: 100_000_000n,
      reason: 'demo credits',
      idempotencyKey: 'demo-seed-grant',
    })
    for (const agent of [
      {
        name: 'Echo',
        slug: 'echo',
        instructions: 'Repeat what the user says.',
        model: 'simulator/echo',
        description: 'Answers with your own words (simulator).',
      },
      {
        name: 'Storyteller',
        slug: 'storyteller',
        instructions: 'Tell long stories.',
        model: 'simulator/lorem',
        max_tokens: 300,
        description: 'Streams lorem ipsum slowly.',
        metadata: { simulate: { latency_ms: 6000 } },
      },
    ]) {
      const exists = await Agent.query()
        .where('tenantId', tenant.id)
        .where('slug', agent.slug)
        .whereNull('deletedAt')
        .first()
      if (!exists) await createAgent({ ...agent, tenantId: tenant.id, actorId: owner.id })
    }
    const origin = process.env.APP_URL ?? `http://localhost:${process.env.PORT ?? 3333}`
    console.log(`\nDemo ready: ${origin}/login`)
    console.log(`  owner (platform admin): owner@demo.agora.test / ${PASSWORD}`)
    console.log(`  member:                 member@demo.agora.test / ${PASSWORD}`)
    console.log(`  workspace: ${origin}/t/demo · 100 credits · agents "echo" and "storyteller"\n`)
  }

  private async user(email: string, name: string, admin: boolean) {
    const existing = await User.findBy('email', email)
    if (existing) return existing
    return User.create({ email, name, password: PASSWORD, timeZone: 'UTC', platformAdmin: admin })
  }
}
