import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { setFlag } from '#platform'
import { signedIn } from '#tests/helpers/session'
import { UserFactory } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

/** A published listing of a fresh workspace, through the API. */
async function listed(client: any) {
  const shop = await WorkspaceFactory.create({ name: 'Moderated Shop', token: true })
  ;(
    await client.post('/api/v1/agents').bearerToken(shop.token).json({
      name: 'Spammy',
      slug: 'spammy',
      instructions: 'Sell things.',
      model: 'simulator/echo',
    })
  ).assertStatus(201)
  const listing = await client
    .post('/api/v1/agents/spammy/listing')
    .bearerToken(shop.token)
    .json({ title: 'Spammy seller', summary: 'Buy now.', category: 'other' })
  listing.assertStatus(201)
  return { shop, listing: listing.body() }
}

test.group('admin / marketplace moderation', (group) => {
  group.each.setup(() => async () => {
    await setFlag('marketplace.publish', 'global', null, true)
  })

  test('a platform admin hides a listing from every catalogue and features another; both audited', async ({
    client,
    assert,
  }) => {
    const { shop, listing } = await listed(client)
    const admin = await UserFactory.apply('platformAdmin').create()
    const web = await signedIn(client, admin)
    const page = await web.get('/admin/marketplace')
    page.assertStatus(200)
    assert.include(page.text(), 'Spammy seller')
    assert.include(page.text(), 'Moderated Shop')

    const hidden = await web.submit('PUT', `/admin/marketplace/${listing.id}`, { hidden: 'true' })
    hidden.assertStatus(302)
    const visitor = await WorkspaceFactory.create({ token: true })
    ;(
      await client.get(`/api/v1/marketplace/${listing.id}`).bearerToken(visitor.token)
    ).assertStatus(404)
    const browse = await client.get('/api/v1/marketplace').bearerToken(visitor.token)
    assert.notInclude(
      browse.body().data.map((l: any) => l.id),
      listing.id
    )
    // Republishing does not undo a hide.
    ;(
      await client
        .post('/api/v1/agents/spammy/listing')
        .bearerToken(shop.token)
        .json({ title: 'Spammy seller', summary: 'Buy now!', category: 'other' })
    ).assertStatus(201)
    ;(
      await client.get(`/api/v1/marketplace/${listing.id}`).bearerToken(visitor.token)
    ).assertStatus(404)

    ;(
      await web.submit('PUT', `/admin/marketplace/${listing.id}`, {
        hidden: 'false',
        featured: 'true',
      })
    ).assertStatus(302)
    const shown = await client.get(`/api/v1/marketplace/${listing.id}`).bearerToken(visitor.token)
    shown.assertStatus(200)
    assert.isTrue(shown.body().featured)
    const audit = await db
      .from('audit_events')
      .where('action', 'agents.listing.moderated')
      .where('subject_id', listing.id)
    assert.lengthOf(audit, 2)
    assert.equal(audit[0].actor_id, admin.id)
  })

  test('anyone else gets 404 for the moderation page and its form', async ({ client }) => {
    const { listing, shop } = await listed(client)
    const owner = await signedIn(client, shop.owner)
    ;(await owner.get('/admin/marketplace')).assertStatus(404)
    ;(
      await owner.submit('PUT', `/admin/marketplace/${listing.id}`, { hidden: 'true' })
    ).assertStatus(404)
    ;(await client.get('/admin/marketplace')).assertStatus(404)
  })
})
