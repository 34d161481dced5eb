import { test } from '@japa/runner'
import { grant, hold, settle } from '#credits'
import { queriesDuring } from '#tests/helpers/queries'
import { signedIn } from '#tests/helpers/session'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { createMembers, MembershipFactory } from '#database/factories/tenant_factory'
import { UserFactory } from '#database/factories/user_factory'

test.group('credits / the ledger member filter searches on demand', () => {
  test('the credits page loads no member list; the filter takes an email; the picker asks as one types', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create({ grant: 10_000_000n })
    const members = await createMembers(tenant.id, 25, (i) => ({
      email: `member${i}@example.com`,
      name: `Member ${i}`,
    }))
    const spender = members[7]
    await settle(await hold({ tenantId: tenant.id, amount: 1000n, memberId: spender.id }), 400n)
    await grant({ tenantId: tenant.id, amount: 5n, reason: 'extra' })
    const web = await signedIn(client, owner)
    await web.get(`/t/${tenant.slug}/credits`)

    const sql = await queriesDuring(() => web.get(`/t/${tenant.slug}/credits`))
    assert.isFalse(
      sql.some((q) => /from "memberships" where "tenant_id" = \?$/.test(q.trim())),
      'no query loads every membership'
    )
    assert.isFalse(
      sql.some((q) => /from "users" where "id" in \((\?, ){20,}/.test(q)),
      'no user list'
    )

    const filtered = await web.get(
      `/t/${tenant.slug}/credits?member=${spender.email.toUpperCase()}`
    )
    assert.include(filtered.text(), 'Member 7')
    assert.notInclude(filtered.text(), '>extra<')
    const byId = await web.get(`/t/${tenant.slug}/credits?member=${spender.id}`)
    assert.include(byId.text(), `value="${spender.email}"`)
    const nobody = await web.get(`/t/${tenant.slug}/credits?member=ghost@example.com`)
    assert.include(nobody.text(), 'No member with the email ghost@example.com.')
    assert.notInclude(nobody.text(), '>extra<')

    const options = await web.get(
      `/t/${tenant.slug}/members/options?member=member1&field=ledger-member-options`
    )
    assert.match(options.text(), /^<datalist id="ledger-member-options">/)
    const emails = [...options.text().matchAll(/value="([^"]+)"/g)].map((m) => m[1])
    assert.includeMembers(emails, ['member1@example.com', 'member10@example.com'])
    assert.isAtMost(emails.length, 10)
    // Another workspace's members never show.
    const other = await WorkspaceFactory.create({ name: 'Other' })
    const stranger = await UserFactory.merge({ email: 'member1-elsewhere@example.com' }).create()
    await MembershipFactory.merge({
      tenantId: other.tenant.id,
      userId: stranger.id,
      role: 'member',
    }).create()
    const again = await web.get(`/t/${tenant.slug}/members/options?member=elsewhere`)
    assert.notInclude(again.text(), 'elsewhere@')
    // Nor does a foreign user's id in the filter reveal their email.
    const foreign = await web.get(`/t/${tenant.slug}/credits?member=${stranger.id}`)
    assert.notInclude(foreign.text(), 'member1-elsewhere@example.com')
    // A search with LIKE wildcards matches them literally.
    const literal = await web.get(
      `/t/${tenant.slug}/members/options?member=${encodeURIComponent('member_')}`
    )
    assert.notInclude(literal.text(), 'value=')

    const api = await client
      .get(`/api/v1/credits/ledger?member=${encodeURIComponent(spender.email)}`)
      .bearerToken((await WorkspaceFactory.create({ token: true })).token)
    api.assertStatus(422)
  })
})
