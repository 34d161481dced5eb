import { test } from '@japa/runner'
import type { ApiClient } from '@japa/api-client'
import db from '@adonisjs/lucid/services/db'
import { saveToolSettings, toolSettingsJson } from '#agents/actions/save_tool_settings'
import { allowedHosts } from '#agents/services/tool_settings'
import { signedIn } from '#tests/helpers/session'
import { UserFactory } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { MembershipFactory } from '#database/factories/tenant_factory'

async function signedInOwner(client: ApiClient) {
  const workspace = await WorkspaceFactory.create()
  const web = await signedIn(client, workspace.owner)
  return { ...workspace, web, base: `/t/${workspace.tenant.slug}` }
}

function auditEvents(tenantId: string) {
  return db
    .from('audit_events')
    .where('tenant_id', tenantId)
    .where('action', 'agents.tool_settings.updated')
}

test.group('agents / web: tool settings', () => {
  test('an owner saves the allow-list; it is trimmed, lower-cased, canonical and without duplicates', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant } = await signedInOwner(client)
    const page = await web.get(`${base}/tools`)
    page.assertStatus(200)
    for (const text of [
      'calculator',
      'current_time',
      'http_request',
      'TOOLS_ALLOW_PRIVATE_NETWORKS',
    ])
      assert.include(page.text(), text)
    assert.include(page.text(), 'Save hosts')

    const saved = await web.submit('PUT', `${base}/tools`, {
      http_allowed_hosts:
        '  API.Example.com \r\n\r\n*.Example.org:8443\napi.example.com\nhttps://Docs.Example.net/v1?q=1\n   \n',
    })
    saved.assertStatus(302)
    assert.equal(saved.header('location'), `${base}/tools`)
    const expected = ['api.example.com', '*.example.org:8443', 'docs.example.net']
    assert.deepEqual(await allowedHosts(tenant.id), expected)
    assert.deepEqual(await toolSettingsJson(tenant.id), { http_allowed_hosts: expected })
    const events = await auditEvents(tenant.id)
    assert.lengthOf(events, 1)
    assert.deepEqual(events[0].changes.http_allowed_hosts, { from: [], to: expected })

    const after = await web.follow(saved)
    assert.include(after.text(), 'http_request may reach 3 hosts.')
    assert.include(after.text(), 'api.example.com\n*.example.org:8443\ndocs.example.net')

    // Saving an empty list clears it (a row stays, with no hosts).
    ;(await web.submit('PUT', `${base}/tools`, { http_allowed_hosts: '\n' })).assertStatus(302)
    assert.deepEqual(await allowedHosts(tenant.id), [])
  })

  test('a bad entry is refused with its line and a friendly message; nothing is saved', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant, owner } = await signedInOwner(client)
    await saveToolSettings({ tenantId: tenant.id, actorId: owner.id, httpAllowedHosts: ['a.test'] })
    await web.get(`${base}/tools`)
    const refused = await web.submit('PUT', `${base}/tools`, {
      http_allowed_hosts: 'good.example.com\n\nnot a host',
    })
    refused.assertStatus(422)
    assert.include(refused.text(), 'Line 3: &quot;not a host&quot; is not a host.')
    assert.include(refused.text(), 'id="field-http_allowed_hosts-error"')
    assert.include(refused.text(), 'good.example.com\n\nnot a host') // the typed text is kept
    assert.deepEqual(await allowedHosts(tenant.id), ['a.test'])
    assert.lengthOf(await auditEvents(tenant.id), 1)

    // Without the CSRF token nothing is saved either.
    const forged = await client
      .post(`${base}/tools?_method=PUT`)
      .header('cookie', web.cookieHeader())
      .redirects(0)
      .form({ http_allowed_hosts: 'evil.example.com' })
    assert.notEqual(forged.status(), 200)
    assert.deepEqual(await allowedHosts(tenant.id), ['a.test'])
  })

  test('the action names the bad entry by its index and refuses wildcards without a domain and long lists', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create()
    const save = (httpAllowedHosts: unknown[]) =>
      saveToolSettings({ tenantId: tenant.id, actorId: null, httpAllowedHosts })
    const refusal = async (hosts: unknown[]) => {
      try {
        await save(hosts)
      } catch (error: any) {
        return { field: error.field, message: error.message }
      }
      assert.fail(`${JSON.stringify(hosts)} was accepted`)
    }
    for (const [hosts, field] of [
      [['ok.test', '*'], 'http_allowed_hosts.1'],
      [['*.*'], 'http_allowed_hosts.0'],
      [['', '*.10.0.0.1'], 'http_allowed_hosts.1'],
      [['host.test:99999'], 'http_allowed_hosts.0'],
      [['ok.test', 42], 'http_allowed_hosts.1'],
      [[`${'a'.repeat(400)}.test`], 'http_allowed_hosts.0'],
    ] as const) {
      assert.equal((await refusal([...hosts]))!.field, field, JSON.stringify(hosts))
    }
    const many = Array.from({ length: 101 }, (_, i) => `h${i}.example.com`)
    assert.match((await refusal(many))!.message, /At most 100 hosts/)
    // Duplicates do not count towards the limit; IPv6 and ports keep their canonical form.
    assert.deepEqual(await save([...many.slice(0, 98), 'H0.example.com', '[::1]:8080', '[::1]']), [
      ...many.slice(0, 98),
      '[::1]:8080',
      '[::1]',
    ])
  })

  test('members and viewers see the list but may not change it', async ({ client, assert }) => {
    const { tenant, owner } = await WorkspaceFactory.create()
    await saveToolSettings({ tenantId: tenant.id, actorId: owner.id, httpAllowedHosts: ['a.test'] })
    for (const role of ['member', 'viewer'] as const) {
      const user = await UserFactory.create()
      await MembershipFactory.merge({ tenantId: tenant.id, userId: user.id, role }).create()
      const web = await signedIn(client, user)
      const page = await web.get(`/t/${tenant.slug}/tools`)
      page.assertStatus(200)
      assert.include(page.text(), 'a.test')
      assert.notInclude(page.text(), 'Save hosts')
      assert.include(page.text(), 'Only owners and admins can change this list.')
      const refused = await web.submit('PUT', `/t/${tenant.slug}/tools`, {
        http_allowed_hosts: 'evil.example.com',
      })
      assert.equal(refused.status(), 403, role)
    }
    assert.deepEqual(await allowedHosts(tenant.id), ['a.test'])
  })

  test('an admin may change it', async ({ client, assert }) => {
    const { tenant } = await WorkspaceFactory.create()
    const admin = await UserFactory.create()
    await MembershipFactory.merge({ tenantId: tenant.id, userId: admin.id, role: 'admin' }).create()
    const web = await signedIn(client, admin)
    await web.get(`/t/${tenant.slug}/tools`)
    ;(
      await web.submit('PUT', `/t/${tenant.slug}/tools`, { http_allowed_hosts: 'b.test' })
    ).assertStatus(302)
    assert.deepEqual(await allowedHosts(tenant.id), ['b.test'])
  })

  test("another tenant never sees a workspace's list, nor changes it", async ({
    client,
    assert,
  }) => {
    const a = await signedInOwner(client)
    const b = await signedInOwner(client)
    await a.web.get(`${a.base}/tools`)
    ;(
      await a.web.submit('PUT', `${a.base}/tools`, { http_allowed_hosts: 'secret-a.example.com' })
    ).assertStatus(302)

    const own = await b.web.get(`${b.base}/tools`)
    own.assertStatus(200)
    assert.notInclude(own.text(), 'secret-a.example.com')
    assert.deepEqual(await toolSettingsJson(b.tenant.id), { http_allowed_hosts: [] })
    // B's owner is no member of A: A's page is a 404, and so is a write to it.
    assert.equal((await b.web.get(`${a.base}/tools`)).status(), 404)
    const write = await b.web.submit('PUT', `${a.base}/tools`, {
      http_allowed_hosts: 'evil.example.com',
    })
    assert.equal(write.status(), 404)
    assert.deepEqual(await allowedHosts(a.tenant.id), ['secret-a.example.com'])
    assert.deepEqual(await allowedHosts(b.tenant.id), [])
  })
})
