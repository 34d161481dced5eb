import { test } from '@japa/runner'
import { randomUUID } from 'node:crypto'
import db from '@adonisjs/lucid/services/db'
import { Membership, Tenant } from '#tenants'
import TenantCreate from '#tenants/commands/tenant_create'
import TenantList from '#tenants/commands/tenant_list'
import TenantSuspend from '#tenants/commands/tenant_suspend'
import TenantPurge from '#tenants/commands/tenant_purge'
import TenantVerifyDomain from '#tenants/commands/tenant_verify_domain'
import TokenCreate from '#tenants/commands/token_create'
import { runCommand } from '#tests/helpers/ace'
import { signedIn } from '#tests/helpers/session'
import { UserFactory } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { MembershipFactory } from '#database/factories/tenant_factory'

const slug = () => `cli-${randomUUID().slice(0, 8)}`

/** Refusals: exit 1, nothing on stdout, one `error: …` line on stderr. */
function assertRefused(
  assert: any,
  result: Awaited<ReturnType<typeof runCommand>>,
  reason: RegExp,
  label = ''
) {
  assert.equal(result.exitCode, 1, label)
  assert.equal(result.stdout, '', label)
  assert.match(result.stderr.trim(), /^error: [^\n]+$/, label)
  assert.match(result.stderr, reason, label)
}

test.group('tenants / tenant:create', () => {
  test('creates a workspace with its owner and prints only the id', async ({ assert }) => {
    const owner = await UserFactory.create()
    const name = slug()
    const result = await runCommand(TenantCreate, [
      name,
      '--name=Ops Team',
      `--owner=${owner.email.toUpperCase()}`,
      '--plan=team',
    ])
    assert.equal(result.exitCode, 0)
    const tenant = await Tenant.findByOrFail('slug', name)
    assert.equal(result.stdout, `${tenant.id}\n`)
    assert.equal(tenant.name, 'Ops Team')
    assert.equal(tenant.planId, 'team')
    assert.equal(
      (
        await Membership.query()
          .where('tenantId', tenant.id)
          .where('userId', owner.id)
          .firstOrFail()
      ).role,
      'owner'
    )
  })

  test('refuses a bad or taken slug, a missing name, an unknown owner', async ({ assert }) => {
    const owner = await UserFactory.create()
    const { tenant } = await WorkspaceFactory.create()
    const cases: [string[], RegExp][] = [
      [['Bad_Slug', '--name=x', `--owner=${owner.email}`], /not a valid slug/],
      [[tenant.slug, '--name=x', `--owner=${owner.email}`], /is taken/],
      [[slug(), `--owner=${owner.email}`], /--name is required/],
      [[slug(), '--name=x'], /--owner=<email> is required/],
      [[slug(), '--name=x', '--owner=nobody@example.test'], /no user with email/],
      [[slug(), '--name=x', `--owner=${owner.email}`, '--plan=NOT A PLAN'], /not a valid plan/],
    ]
    for (const [argv, reason] of cases)
      assertRefused(assert, await runCommand(TenantCreate, argv), reason, argv.join(' '))
  })
})

test.group('tenants / token:create', () => {
  test('prints the token alone; it works for the API with the given abilities and expiry', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const result = await runCommand(TokenCreate, [
      owner.email,
      `--tenant=${tenant.slug}`,
      '--abilities=agents:read, runs:read',
      '--expires-in=30d',
      '--name=deploy',
    ])
    assert.equal(result.exitCode, 0)
    const secret = result.stdout.trim()
    assert.equal(result.stdout, `${secret}\n`)
    assert.match(secret, /^agora_/)
    const me = await client.get('/api/v1/me').bearerToken(secret)
    me.assertStatus(200)
    assert.equal(me.body().tenant.id, tenant.id)
    assert.sameMembers(me.body().abilities, ['agents:read', 'runs:read'])
    const row = await db.from('auth_access_tokens').where('tokenable_id', owner.id).firstOrFail()
    assert.equal(row.name, 'deploy')
    assert.closeTo((new Date(row.expires_at).getTime() - Date.now()) / 86_400_000, 30, 0.01)
    assert.notInclude(JSON.stringify(row), secret.split('.').pop()!)
  })

  test('refuses non-members, unknown abilities, bad lifetimes and unknown workspaces', async ({
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const outsider = await UserFactory.create()
    const cases: [string[], RegExp][] = [
      [[outsider.email, `--tenant=${tenant.slug}`], /is not a member of/],
      [
        [owner.email, `--tenant=${tenant.slug}`, '--abilities=agents:read,root:all'],
        /unknown ability root:all/,
      ],
      [
        [owner.email, `--tenant=${tenant.slug}`, '--expires-in=forever'],
        /--expires-in must look like/,
      ],
      [[owner.email, `--tenant=${tenant.slug}`, '--expires-in=99999d'], /at most 3650 days/],
      [[owner.email, '--tenant=no-such-workspace'], /no workspace with slug/],
      [[owner.email], /--tenant=<slug> is required/],
      [['ghost@example.test', `--tenant=${tenant.slug}`], /no user with email/],
    ]
    for (const [argv, reason] of cases)
      assertRefused(assert, await runCommand(TokenCreate, argv), reason, argv.join(' '))
    assert.lengthOf(
      await db.from('auth_access_tokens').whereIn('tokenable_id', [owner.id, outsider.id]),
      0
    )
  })
})

test.group('tenants / tenant:list, tenant:suspend, tenant:verify-domain, tenant:purge', () => {
  test('tenant:list prints one tab-separated line per workspace (JSON lines with --json)', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create({ name: 'Listed Space' })
    await MembershipFactory.merge({ tenantId: tenant.id, role: 'viewer' }).create()
    const result = await runCommand(TenantList, [])
    assert.equal(result.exitCode, 0)
    const line = result.stdout.split('\n').find((l) => l.startsWith(`${tenant.slug}\t`))!
    const [lineSlug, id, plan, status, members, created, name] = line.split('\t')
    assert.deepEqual(
      [lineSlug, id, plan, status, members, name],
      [tenant.slug, tenant.id, 'free', 'active', '2', 'Listed Space']
    )
    assert.isFalse(Number.isNaN(Date.parse(created)))
    const json = await runCommand(TenantList, ['--json'])
    const entry = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .find((e) => e.id === tenant.id)
    assert.deepInclude(entry, {
      slug: tenant.slug,
      status: 'active',
      members: 2,
      name: 'Listed Space',
    })
  })

  test('tenant:suspend suspends (with a reason) and --lift lifts; both are audited', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const suspended = await runCommand(TenantSuspend, [tenant.slug, '--reason=Abuse report'])
    assert.equal(suspended.exitCode, 0)
    assert.equal(suspended.stdout, `${tenant.slug}\tsuspended\n`)
    const row = await Tenant.findOrFail(tenant.id)
    assert.isTrue(row.suspended)
    assert.equal(row.suspensionReason, 'Abuse report')
    const web = await signedIn(client, owner)
    assert.equal(
      (
        await web.submit('PUT', `/t/${tenant.slug}/settings`, { name: 'x', timeZone: 'UTC' })
      ).status(),
      403
    )
    const listed = await runCommand(TenantList, [])
    assert.include(listed.stdout, `${tenant.slug}\t${tenant.id}\tfree\tsuspended\t`)

    const lifted = await runCommand(TenantSuspend, [tenant.slug, '--lift'])
    assert.equal(lifted.stdout, `${tenant.slug}\tactive\n`)
    assert.isFalse((await Tenant.findOrFail(tenant.id)).suspended)
    assert.equal(
      (
        await web.submit('PUT', `/t/${tenant.slug}/settings`, { name: 'Back', timeZone: 'UTC' })
      ).status(),
      302
    )
    for (const action of ['tenants.tenant.suspended', 'tenants.tenant.suspension_lifted']) {
      const audit = await db
        .from('audit_events')
        .where('action', action)
        .where('tenant_id', tenant.id)
        .firstOrFail()
      assert.equal(audit.actor_label, 'cli')
    }
    assertRefused(
      assert,
      await runCommand(TenantSuspend, ['no-such-workspace']),
      /no workspace with slug/
    )
  })

  test('tenant:verify-domain vouches for the domain (or checks DNS with --dns)', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create()
    assertRefused(
      assert,
      await runCommand(TenantVerifyDomain, [tenant.slug]),
      /has no custom domain/
    )
    const domain = `${tenant.slug}.ops.example.org`
    await Tenant.query()
      .where('id', tenant.id)
      .update({ customDomain: domain, domainVerificationToken: 'z'.repeat(32) })
    const result = await runCommand(TenantVerifyDomain, [tenant.slug])
    assert.equal(result.exitCode, 0)
    assert.equal(result.stdout, `${domain}\n`)
    assert.isNotNull((await Tenant.findOrFail(tenant.id)).domainVerifiedAt)
  })

  test('tenant:purge deletes only workspaces past their grace period; --dry-run deletes nothing', async ({
    assert,
  }) => {
    const due = await WorkspaceFactory.create()
    const recent = await WorkspaceFactory.create()
    await Tenant.query()
      .where('id', due.tenant.id)
      .update({
        deletionRequestedAt: new Date(Date.now() - 8 * 86_400_000),
        lastExportedAt: new Date(),
      })
    await Tenant.query()
      .where('id', recent.tenant.id)
      .update({ deletionRequestedAt: new Date(Date.now() - 6 * 86_400_000) })
    const dry = await runCommand(TenantPurge, ['--dry-run'])
    assert.include(dry.stdout, `${due.tenant.slug}\t${due.tenant.id}\tdue\n`)
    assert.notInclude(dry.stdout, recent.tenant.slug)
    assert.exists(await Tenant.find(due.tenant.id))
    const run = await runCommand(TenantPurge, [])
    assert.equal(run.exitCode, 0)
    assert.include(run.stdout, `${due.tenant.slug}\t${due.tenant.id}\tpurged\n`)
    assert.isNull(await Tenant.find(due.tenant.id))
    assert.exists(await Tenant.find(recent.tenant.id))
  })
})
