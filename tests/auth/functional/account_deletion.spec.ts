import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { recordAudit, verifyAuditChain } from '#platform'
import { User } from '#auth'
import { signedIn } from '#tests/helpers/session'
import { UserFactory, USER_PASSWORD } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { MembershipFactory } from '#database/factories/tenant_factory'
import { ApiTokenFactory } from '#database/factories/api_token_factory'

test.group('auth / account deletion', () => {
  test('needs the password, erases personal data, ends sessions and tokens, keeps the audit chain', async ({
    client,
    assert,
  }) => {
    const user = await UserFactory.create()
    const { tenant: workspace } = await WorkspaceFactory.create()
    await MembershipFactory.merge({
      tenantId: workspace.id,
      userId: user.id,
      role: 'member',
    }).create()
    const token = await ApiTokenFactory.create(user, workspace.id)
    await recordAudit({ action: 'test.before_deletion', actorId: user.id, actorLabel: user.email })
    const web = await signedIn(client, user)
    await web.get('/account')

    await web.submit('DELETE', '/account', { delete_password: 'not my password' })
    assert.instanceOf(await User.find(user.id), User)

    const done = await web.submit('DELETE', '/account', { delete_password: USER_PASSWORD })
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
    const { owner } = await WorkspaceFactory.create()
    const web = await signedIn(client, owner)
    await web.get('/account')
    await web.submit('DELETE', '/account', { delete_password: USER_PASSWORD })
    assert.instanceOf(await User.find(owner.id), User)
    assert.include((await web.get('/account')).text(), 'last owner')
  })
})
