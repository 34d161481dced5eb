import { test } from '@japa/runner'
import router from '@adonisjs/core/services/router'
import { warmPageStatements } from '#tests/helpers/queries'
import { signedIn } from '#tests/helpers/session'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

/** Most SQL statements a tenant page may run on a warm session (issue 21). */
const BUDGET = 3

/**
 * Every tenant page, from the router (so a new one is counted too): GET routes under
 * /t/:tenant without another parameter, less downloads and the htmx fragments they poll.
 */
function tenantPages() {
  const fragments = new Set(['credits.balance.show', 'tenants.member_options.index'])
  const pages = new Set<string>()
  for (const routes of Object.values(router.toJSON()))
    for (const route of routes)
      if (
        route.methods.includes('GET') &&
        /^\/t\/:tenant(\/[a-z-]+)*$/.test(route.pattern) &&
        !fragments.has(route.name ?? '')
      )
        pages.add(route.pattern)
  return [...pages]
}

test.group('tenants / SQL statements per page', () => {
  test('every tenant page runs at most 3 statements on a warm session', async ({
    client,
    assert,
  }) => {
    const { owner, tenant, token } = await WorkspaceFactory.create({
      grant: 1_000_000_000n,
      token: true,
    })
    // Something on every page, and more than a page of runs and ledger entries (a next-page
    // cursor must not cost a statement of its own).
    const agent = { name: 'Echo', slug: 'echo', instructions: 'Repeat.', model: 'simulator/echo' }
    ;(await client.post('/api/v1/agents').bearerToken(token!).json(agent)).assertStatus(201)
    for (let i = 0; i < 55; i++) {
      const run = await client
        .post('/api/v1/agents/echo/runs')
        .bearerToken(token!)
        .json({ input: `hello ${i}` })
      run.assertStatus(201)
    }
    const web = await signedIn(client, owner)
    const pages = tenantPages().map((pattern) => pattern.replace(':tenant', tenant.slug))
    assert.isAtLeast(pages.length, 15)
    const over: string[] = []
    for (const url of pages) {
      const sql = await warmPageStatements(web, url)
      if (sql.length > BUDGET) over.push(`${url}: ${sql.length}\n  ${sql.join('\n  ')}`)
    }
    assert.deepEqual(over, [], `pages over ${BUDGET} statements:\n${over.join('\n')}`)
  })
})
