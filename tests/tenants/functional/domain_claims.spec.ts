import { test } from '@japa/runner'
import { DateTime } from 'luxon'
import db from '@adonisjs/lucid/services/db'
import { Tenant } from '#tenants'
import { DomainClaimError, markDomainVerified } from '#tenants/actions/domains'
import TenantVerifyDomain from '#tenants/commands/tenant_verify_domain'
import { DOMAIN_CLAIM_TTL_DAYS, useTxtLookup } from '#tenants/services/domains'
import { runCommand } from '#tests/helpers/ace'
import { signedIn, type Session } from '#tests/helpers/session'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

type Claimant = { web: Session; tenant: Tenant }

/** A workspace whose owner is signed in and has claimed `domain` through the settings form. */
async function claimant(client: any, domain: string): Promise<Claimant> {
  const { owner, tenant } = await WorkspaceFactory.create()
  const web = await signedIn(client, owner)
  const response = await web.submit('PUT', `/t/${tenant.slug}/domain`, { domain })
  if (response.status() !== 302) throw new Error(`claim refused: ${response.status()}`)
  return { web, tenant: await Tenant.findOrFail(tenant.id) }
}

/** DNS that publishes the verification records of every given claim (all of them "own" it). */
function publish(...claims: Claimant[]) {
  useTxtLookup(async () =>
    claims.map((c) => [`agora-verification=${c.tenant.domainVerificationToken}`])
  )
}

async function settingsText(claim: Claimant) {
  return (await claim.web.get(`/t/${claim.tenant.slug}/settings`)).text()
}

test.group('tenants / custom domain claims', (group) => {
  group.each.teardown(() => useTxtLookup())

  test('a pending claim reserves nothing: another workspace claims the same domain, and the first to verify keeps it', async ({
    client,
    assert,
  }) => {
    const domain = `squat-${Date.now().toString(36)}.claims.example.org`
    const a = await claimant(client, domain)
    const b = await claimant(client, domain)
    assert.equal(b.tenant.customDomain, domain, 'the second claim is accepted')
    assert.notEqual(a.tenant.domainVerificationToken, b.tenant.domainVerificationToken)
    assert.include(await settingsText(b), `agora-verification=${b.tenant.domainVerificationToken}`)

    publish(a, b)
    await a.web.submit('POST', `/t/${a.tenant.slug}/domain/verification`)
    assert.isNotNull((await Tenant.findOrFail(a.tenant.id)).domainVerifiedAt)

    // B's check is refused with a message, in a page and as a problem document.
    const refused = await b.web.submit('POST', `/t/${b.tenant.slug}/domain/verification`)
    assert.equal(refused.status(), 302)
    assert.equal(refused.header('location'), `/t/${b.tenant.slug}/settings#domain`)
    const page = await b.web.follow(refused)
    assert.include(page.text(), 'was verified by another workspace first')
    const json = await b.web.submit(
      'POST',
      `/t/${b.tenant.slug}/domain/verification`,
      {},
      { accept: 'application/json' }
    )
    json.assertStatus(409)
    assert.include(String(json.header('content-type')), 'application/problem+json')
    assert.include(json.body().detail, 'was verified by another workspace first')
    const settings = await settingsText(b)
    assert.include(settings, 'Verified by another workspace')
    assert.notInclude(settings, `agora-verification=${b.tenant.domainVerificationToken}`)
    assert.isNull((await Tenant.findOrFail(b.tenant.id)).domainVerifiedAt)

    // The domain serves A only; a new claim on it is refused outright.
    ;(await a.web.get('/members', { host: domain })).assertStatus(200)
    ;(await b.web.get('/members', { host: domain })).assertStatus(404)
    const late = await WorkspaceFactory.create()
    const lateWeb = await signedIn(client, late.owner)
    await lateWeb.submit('PUT', `/t/${late.tenant.slug}/domain`, { domain })
    assert.include(
      (await lateWeb.get(`/t/${late.tenant.slug}/settings`)).text(),
      'already used by another workspace'
    )
    assert.isNull((await Tenant.findOrFail(late.tenant.id)).customDomain)

    // The operator cannot vouch for B's claim either.
    const cli = await runCommand(TenantVerifyDomain, [b.tenant.slug])
    assert.equal(cli.exitCode, 1)
    assert.include(cli.stderr, 'was verified by another workspace first')
    assert.isNull((await Tenant.findOrFail(b.tenant.id)).domainVerifiedAt)
  })

  test('the later claimant may verify first; the earlier one is then refused', async ({
    client,
    assert,
  }) => {
    const domain = `race-${Date.now().toString(36)}.claims.example.org`
    const first = await claimant(client, domain)
    const second = await claimant(client, domain)
    publish(first, second)
    await second.web.submit('POST', `/t/${second.tenant.slug}/domain/verification`)
    assert.isNotNull((await Tenant.findOrFail(second.tenant.id)).domainVerifiedAt)
    const page = await first.web.follow(
      await first.web.submit('POST', `/t/${first.tenant.slug}/domain/verification`)
    )
    assert.include(page.text(), 'was verified by another workspace first')
    assert.isNull((await Tenant.findOrFail(first.tenant.id)).domainVerifiedAt)
    ;(await second.web.get('/members', { host: domain })).assertStatus(200)
  })

  test('concurrent verifications of one domain: exactly one workspace wins', async ({
    client,
    assert,
    cleanup,
  }) => {
    // Committed (real connections): requests sharing the suite's one transaction would neither
    // race nor keep their tenant bindings apart.
    const stamp = Date.now().toString(36)
    cleanup(async () => {
      const tenants = await db
        .from('tenants')
        .whereILike('custom_domain', `%-${stamp}.claims.example.org`)
        .select('id')
      const ids = tenants.map((row: { id: string }) => row.id)
      const owners = await db.from('memberships').whereIn('tenant_id', ids).select('user_id')
      await db.from('tenants').whereIn('id', ids).delete()
      await db
        .from('users')
        .whereIn(
          'id',
          owners.map((row: { user_id: string }) => row.user_id)
        )
        .delete()
    })
    const domain = `both-${stamp}.claims.example.org`
    const claims = [await claimant(client, domain), await claimant(client, domain)]
    // Both requests pass their checks before either records its verification.
    let asked = 0
    useTxtLookup(async () => {
      asked++
      for (let waited = 0; asked < claims.length && waited < 2000; waited += 10)
        await new Promise((resolve) => setTimeout(resolve, 10))
      return claims.map((c) => [`agora-verification=${c.tenant.domainVerificationToken}`])
    })
    const answers = await Promise.all(
      claims.map((c) =>
        c.web.submit(
          'POST',
          `/t/${c.tenant.slug}/domain/verification`,
          {},
          { accept: 'application/json' }
        )
      )
    )
    const verified = await Tenant.query()
      .where('customDomain', domain)
      .whereNotNull('domainVerifiedAt')
    assert.lengthOf(verified, 1)
    const statuses = answers.map((answer) => answer.status()).sort()
    assert.deepEqual(statuses, [302, 409])

    // Through the action too, several at once (each claim's token checked by the caller).
    const domain2 = `many-${stamp}.claims.example.org`
    const many = [
      await claimant(client, domain2),
      await claimant(client, domain2),
      await claimant(client, domain2),
    ]
    const results = await Promise.allSettled(
      many.map((c) => markDomainVerified({ tenant: c.tenant, via: 'operator', actorLabel: 'test' }))
    )
    assert.lengthOf(
      results.filter((r) => r.status === 'fulfilled'),
      1
    )
    for (const result of results.filter((r) => r.status === 'rejected'))
      assert.instanceOf((result as PromiseRejectedResult).reason, DomainClaimError)
    assert.lengthOf(
      await Tenant.query().where('customDomain', domain2).whereNotNull('domainVerifiedAt'),
      1
    )
    assert.lengthOf(
      await db
        .from('audit_events')
        .where('action', 'tenants.domain.verified')
        .whereIn(
          'tenant_id',
          many.map((c) => c.tenant.id)
        ),
      1
    )
  })
    .timeout(20_000)
    .tags(['@committed'])

  test('an expired claim no longer shows as pending nor verifies; saving the domain again renews it', async ({
    client,
    assert,
  }) => {
    const domain = `late-${Date.now().toString(36)}.claims.example.org`
    const claim = await claimant(client, domain)
    assert.include(await settingsText(claim), 'This claim expires if not verified by')
    // Through the model, as the app writes tenants (its hook refreshes the cached row).
    const stale = await Tenant.findOrFail(claim.tenant.id)
    stale.domainClaimedAt = DateTime.now().minus({ days: DOMAIN_CLAIM_TTL_DAYS, minutes: 1 })
    await stale.save()
    let asked = 0
    useTxtLookup(async () => {
      asked++
      return [[`agora-verification=${claim.tenant.domainVerificationToken}`]]
    })

    const settings = await settingsText(claim)
    assert.include(settings, 'Claim expired')
    assert.notInclude(settings, 'Not verified yet')
    assert.notInclude(settings, `agora-verification=${claim.tenant.domainVerificationToken}`)

    const page = await claim.web.follow(
      await claim.web.submit('POST', `/t/${claim.tenant.slug}/domain/verification`)
    )
    assert.include(page.text(), `The claim on ${domain} expired`)
    assert.equal(asked, 0, 'DNS is not even asked')
    const cli = await runCommand(TenantVerifyDomain, [claim.tenant.slug])
    assert.equal(cli.exitCode, 1)
    assert.include(cli.stderr, 'expired')
    const expired = await Tenant.findOrFail(claim.tenant.id)
    await assert.rejects(
      () => markDomainVerified({ tenant: expired, via: 'operator', actorLabel: 'test' }),
      /expired/
    )
    assert.isNull((await Tenant.findOrFail(claim.tenant.id)).domainVerifiedAt)

    // Saving the same domain again starts a new claim with a new token, which verifies.
    await claim.web.submit('PUT', `/t/${claim.tenant.slug}/domain`, { domain })
    const renewed = await Tenant.findOrFail(claim.tenant.id)
    assert.notEqual(renewed.domainVerificationToken, claim.tenant.domainVerificationToken)
    assert.closeTo(renewed.domainClaimedAt!.diffNow('seconds').seconds, 0, 30)
    useTxtLookup(async () => [[`agora-verification=${renewed.domainVerificationToken}`]])
    await claim.web.submit('POST', `/t/${claim.tenant.slug}/domain/verification`)
    assert.isNotNull((await Tenant.findOrFail(claim.tenant.id)).domainVerifiedAt)
  })
})
