import { test } from '@japa/runner'
import { randomUUID } from 'node:crypto'
import db from '@adonisjs/lucid/services/db'
import { queriesDuring, warmPageStatements } from '#tests/helpers/queries'
import { signedIn } from '#tests/helpers/session'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { UserFactory } from '#database/factories/user_factory'

/** A workspace with `count` more members, inserted in bulk (one password hash shared: fast). */
async function workspaceWith(count: number) {
  const made = await WorkspaceFactory.create()
  const template = await UserFactory.create()
  const tag = randomUUID().slice(0, 8)
  const users = await db
    .table('users')
    .multiInsert(
      Array.from({ length: count }, (_, i) => ({
        email: `m${i}-${tag}@example.com`,
        name: `Member ${i}`,
        password: template.password,
      }))
    )
    .returning(['id', 'email'])
  await db.table('memberships').multiInsert(
    users.map((user: { id: string }) => ({
      tenant_id: made.tenant.id,
      user_id: user.id,
      role: 'member',
    }))
  )
  return { ...made, users: users as { id: string; email: string }[] }
}

const rowsOf = (html: string) => (html.match(/data-testid="member-row"/g) ?? []).length

test.group('tenants / members pages at any size', () => {
  test('a 500-member workspace: the members page shows 50 at a time, searchable, for the same queries as a 5-member one', async ({
    client,
    assert,
  }) => {
    const big = await workspaceWith(499)
    const small = await workspaceWith(4)
    const bigWeb = await signedIn(client, big.owner)
    const smallWeb = await signedIn(client, small.owner)
    const bigPage = await bigWeb.get(`/t/${big.tenant.slug}/members`)
    assert.equal(rowsOf(bigPage.text()), 50)
    assert.include(bigPage.text(), 'More members')
    const smallPage = await smallWeb.get(`/t/${small.tenant.slug}/members`)
    assert.equal(rowsOf(smallPage.text()), 5)
    assert.notInclude(smallPage.text(), 'More members')
    // On a warm session, the same statements whatever the size (the credits page too).
    for (const page of ['members', 'credits'])
      assert.equal(
        (await warmPageStatements(bigWeb, `/t/${big.tenant.slug}/${page}`)).length,
        (await warmPageStatements(smallWeb, `/t/${small.tenant.slug}/${page}`)).length,
        page
      )
    const bigSql = await queriesDuring(() => bigWeb.get(`/t/${big.tenant.slug}/members`))
    assert.isTrue(
      bigSql
        .filter((q) => q.includes('"memberships"') && q.includes('"users"'))
        .every((q) => /limit/i.test(q)),
      'the member list is always limited'
    )

    const last = await bigWeb.get(`/t/${big.tenant.slug}/members?page=10`)
    assert.equal(rowsOf(last.text()), 50)
    assert.include(last.text(), 'Previous members')
    assert.notInclude(last.text(), 'More members')

    const one = big.users[123]
    const found = await bigWeb.get(
      `/t/${big.tenant.slug}/members?q=${encodeURIComponent(one.email)}`
    )
    assert.equal(rowsOf(found.text()), 1)
    assert.include(found.text(), one.email)
  })

  test('a search takes % and _ literally, matches names or emails, and pages through every match once', async ({
    client,
    assert,
  }) => {
    const { owner, tenant, users } = await workspaceWith(60)
    const named = async (i: number, name: string) =>
      db.from('users').where('id', users[i].id).update({ name })
    await named(7, '100% Sure')
    await named(8, 'Not_quite')
    await named(9, '1000 Sure')
    await named(10, 'NotXquite')
    const web = await signedIn(client, owner)
    const search = async (q: string, page = 1) =>
      (await web.get(`/t/${tenant.slug}/members?q=${encodeURIComponent(q)}&page=${page}`)).text()
    const percent = await search('0% s')
    assert.equal(rowsOf(percent), 1)
    assert.include(percent, '100% Sure')
    const underscore = await search('t_q')
    assert.equal(rowsOf(underscore), 1)
    assert.include(underscore, 'Not_quite')
    assert.include(underscore, users[8].email)
    assert.equal(rowsOf(await search('%')), 1)
    // By email, case-insensitive: every bulk member, 50 then the rest, each on one page only.
    const first = await search('@EXAMPLE.COM')
    assert.equal(rowsOf(first), 50)
    assert.include(first, 'More members')
    const second = await search('@EXAMPLE.COM', 2)
    assert.equal(rowsOf(second), 10)
    assert.notInclude(second, 'More members')
    for (const user of users)
      assert.equal(Number(first.includes(user.email)) + Number(second.includes(user.email)), 1)
  })

  test('the owner hands ownership to a member chosen by email (the picker suggests as one types)', async ({
    client,
    assert,
  }) => {
    const { owner, tenant, users } = await workspaceWith(60)
    const web = await signedIn(client, owner)
    await web.get(`/t/${tenant.slug}/members`)
    const heir = users[42]
    const suggest = await web.get(
      `/t/${tenant.slug}/members/options?email=${encodeURIComponent(heir.email.slice(0, -4))}&field=owner-options`
    )
    assert.include(suggest.text(), `value="${heir.email}"`)
    await web.submit('POST', `/t/${tenant.slug}/ownership-transfers`, {
      email: heir.email.toUpperCase(),
    })
    const roles = await db
      .from('memberships')
      .where('tenant_id', tenant.id)
      .whereIn('user_id', [owner.id, heir.id])
      .select('user_id', 'role')
    const roleOf = new Map(roles.map((r) => [r.user_id, r.role]))
    assert.equal(roleOf.get(heir.id), 'owner')
    assert.equal(roleOf.get(owner.id), 'admin')
  })
})
