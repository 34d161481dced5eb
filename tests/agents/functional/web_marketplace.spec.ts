import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { setFlag } from '#platform'
import { createAgent, updateAgent } from '#agents/actions/save_agent'
import { signedIn } from '#tests/helpers/session'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { UserFactory } from '#database/factories/user_factory'
import { MembershipFactory } from '#database/factories/tenant_factory'

async function owner(client: any, name: string) {
  const workspace = await WorkspaceFactory.create({ name, grant: 1_000_000_000n, token: true })
  const web = await signedIn(client, workspace.owner)
  return { ...workspace, web, base: `/t/${workspace.tenant.slug}` }
}

test.group('agents / web: marketplace', (group) => {
  group.each.setup(() => async () => {
    await setFlag('marketplace.publish', 'global', null, true)
  })

  test('an owner publishes from the agent page; another workspace finds it, installs, runs, reviews and updates it', async ({
    client,
    assert,
  }) => {
    const shop = await owner(client, 'Page Shop')
    const { agent } = await createAgent({
      tenantId: shop.tenant.id,
      actorId: shop.owner.id,
      name: 'Greeter',
      slug: 'greeter',
      instructions: 'Greet warmly.',
      model: 'simulator/echo',
    })
    const agentPage = await shop.web.get(`${shop.base}/agents/greeter`)
    assert.include(agentPage.text(), `href="${shop.base}/agents/greeter/listing"`)
    const form = await shop.web.get(`${shop.base}/agents/greeter/listing`)
    form.assertStatus(200)
    assert.include(form.text(), 'Not published')
    const bad = await shop.web.submit('POST', `${shop.base}/agents/greeter/listing`, {
      title: '',
      summary: 'Says hello.',
      category: 'assistant',
    })
    bad.assertStatus(422)
    assert.include(bad.text(), 'Not published: see the messages below.')
    const published = await shop.web.submit('POST', `${shop.base}/agents/greeter/listing`, {
      title: 'Warm greeter',
      summary: 'Says hello in a friendly way.',
      category: 'assistant',
      tags: 'greeting, friendly',
      examples: 'Hello there\nGood morning',
    })
    published.assertStatus(302)
    const listing = await db.from('listings').where('agent_id', agent.id).firstOrFail()
    assert.deepEqual(listing.tags, ['greeting', 'friendly'])
    assert.deepEqual(listing.examples, ['Hello there', 'Good morning'])

    const buyer = await owner(client, 'Page Buyer')
    const catalogue = await buyer.web.get(`${buyer.base}/marketplace?q=friendly`)
    catalogue.assertStatus(200)
    assert.include(catalogue.text(), 'Warm greeter')
    assert.include(catalogue.text(), 'by Page Shop')
    const detailUrl = `${buyer.base}/marketplace/${listing.id}`
    const detail = await buyer.web.get(detailUrl)
    assert.include(detail.text(), 'Greet warmly.')
    assert.include(detail.text(), 'Good morning')

    const installed = await buyer.web.submit('POST', `${detailUrl}/installs`)
    installed.assertStatus(302)
    assert.equal(installed.header('location'), `${buyer.base}/agents/warm-greeter`)
    // Before a run of the copy: refused with the reason on the error page.
    const early = await buyer.web.submit('POST', `${detailUrl}/reviews`, {
      rating: '5',
      body: 'Lovely',
    })
    early.assertStatus(403)
    assert.include(early.text(), 'ran an installed copy successfully')
    const badRating = await buyer.web.submit('POST', `${detailUrl}/reviews`, { rating: '9' })
    badRating.assertStatus(302)
    assert.include((await buyer.web.get(detailUrl)).text(), 'Your review was not saved')
    ;(
      await client
        .post('/api/v1/agents/warm-greeter/runs')
        .bearerToken(buyer.token)
        .json({ input: 'hi' })
    ).assertStatus(201)
    ;(
      await buyer.web.submit('POST', `${detailUrl}/reviews`, { rating: '4', body: 'Lovely' })
    ).assertStatus(302)
    assert.include((await buyer.web.get(detailUrl)).text(), 'Thank you: your review is saved.')
    const reviewed = await buyer.web.get(detailUrl)
    assert.include(reviewed.text(), '★★★★</strong> Lovely')
    assert.include(reviewed.text(), '★ 4 (1 reviews)')

    await updateAgent(agent, { instructions: 'Greet very warmly.' }, shop.owner.id)
    await shop.web.submit('POST', `${shop.base}/agents/greeter/listing`, {
      title: 'Warm greeter',
      summary: 'Says hello in a friendly way.',
      category: 'assistant',
    })
    const offered = await buyer.web.get(detailUrl)
    assert.include(offered.text(), 'Update to version 2')
    ;(await buyer.web.submit('POST', `${buyer.base}/agents/warm-greeter/updates`)).assertStatus(302)
    const copy = await db
      .from('agents')
      .where('tenant_id', buyer.tenant.id)
      .where('slug', 'warm-greeter')
      .firstOrFail()
    assert.equal(copy.installed_version, 2)

    ;(await shop.web.submit('DELETE', `${shop.base}/agents/greeter/listing`)).assertStatus(302)
    ;(await buyer.web.get(detailUrl)).assertStatus(404)
  })

  test('a member sees the listing page without the publish form and cannot publish', async ({
    client,
    assert,
  }) => {
    const shop = await owner(client, 'Member Shop')
    await createAgent({
      tenantId: shop.tenant.id,
      actorId: shop.owner.id,
      name: 'Greeter',
      slug: 'greeter',
      instructions: 'Greet.',
      model: 'simulator/echo',
    })
    const member = await UserFactory.create()
    await MembershipFactory.merge({
      tenantId: shop.tenant.id,
      userId: member.id,
      role: 'member',
    }).create()
    const web = await signedIn(client, member)
    const page = await web.get(`${shop.base}/agents/greeter/listing`)
    page.assertStatus(200)
    assert.include(page.text(), 'Only owners and admins publish agents.')
    ;(
      await web.submit('POST', `${shop.base}/agents/greeter/listing`, {
        title: 'x',
        summary: 'y',
        category: 'other',
      })
    ).assertStatus(403)
  })
})
