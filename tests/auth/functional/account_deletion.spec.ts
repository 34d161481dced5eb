import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { recordAudit, verifyAuditChain } from '#platform'
import { User } from '#auth'
import { createUser, TEST_PASSWORD, WebSession } from '#tests/helpers/web_session'
import { addMember, createWorkspace, tokenFor } from '#tests/helpers/tenants'

test.group('auth / account deletion', () => {
  test('needs the password, erases personal data, ends sessions and tokens, keeps the audit chain', async ({
    client,
    assert,
  }) => {
    const owner = await createUser()
    const user = await createUser()
    const workspace = await createWorkspace(owner)
    await addMember(workspace.id, user, 'member')
    const token = await tokenFor(user, workspace.id)
    await recordAudit({ action: 'test.before_deletion', actorId: user.id, actorLabel: user.email })
    const web = new WebSession(client)
    await web.login(user.email)
    await web.get('/account')

    await web.submit('DELETE', '/account', { delete_password: 'not my password' })
    assert.instanceOf(await User.find(user.id), User)

    const done = await web.submit('DELETE', '/account', { delete_password: TEST_PASSWORD })
    assert.equal(done.header('location'), '/')
    assert.isNull(await User.find(user.id))
    assert.equal((await web.get('/account')).status(), 302)
    ;(await client.get('/api/v1/me').bearerToken(token)).assertStatus(401)
    assert.lengthOf(await db.from('memberships').where('user_id', user.id), 0)
    const rows = await db.from('audit_events').where('actor_id', user.id)
    assert.isAbove(rows.length, 0)
    assert.isTrue(rows.every((row) => row.actor_label !== user.email && row.ip === null))
    assert.notInclude(JSON.stringify(rows), user.email)
    assert.deepEqual(await verifyAuditChain(), [])
  })

  test('the last owner of a workspace cannot delete the account', async ({ client, assert }) => {
    const owner = await createUser()
    await createWorkspace(owner)
    const web = new WebSession(client)
    await web.login(owner.email)
    await web.get('/account')
    await web.submit('DELETE', '/account', { delete_password: TEST_PASSWORD })
    assert.instanceOf(await User.find(owner.id), User)
    assert.include((await web.get('/account')).text(), 'last owner')
  })
})
