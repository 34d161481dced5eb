import { test } from '@japa/runner'
import { randomUUID } from 'node:crypto'
import db from '@adonisjs/lucid/services/db'
import {
  adjust,
  balanceOf,
  expireStaleHolds,
  extend,
  grant,
  hold,
  HoldNotFoundException,
  HoldNotPendingException,
  IdempotencyConflictException,
  InsufficientCreditsException,
  CreditsInputException,
  refund,
  release,
  settle,
} from '#credits'
import { withTenant } from '#tenants'
import { accountOf, assertVerified, CREDIT } from '#tests/credits/helpers'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

/** Makes a pending hold look abandoned: its expiry passed (by database time). */
async function backdate(holdId: string) {
  await db
    .from('credit_holds')
    .where('id', holdId)
    .update({ expires_at: db.raw(`now() - interval '1 second'`) })
}

test.group('credits / holds', () => {
  test('a hold moves credits from available to held, and settle charges the actual cost and frees the rest', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create({ grant: 10n * CREDIT })
    const placed = await hold({ tenantId: tenant.id, amount: 3n * CREDIT, reference: 'run-1' })
    assert.equal(placed.status, 'pending')
    assert.isFalse(placed.replayed)
    assert.isAbove(placed.expiresAt.getTime(), Date.now())
    assert.deepEqual(await balanceOf(tenant.id), {
      balance: 10n * CREDIT,
      held: 3n * CREDIT,
      available: 7n * CREDIT,
    })

    const result = await settle(placed.id, 1_250_000n, {
      price: { model: 'simulator/echo', input_per_million: '1' },
    })
    assert.equal(result.charged, 1_250_000n)
    assert.equal(result.released, 3n * CREDIT - 1_250_000n)
    assert.equal(result.hold.status, 'settled')
    assert.isFalse(result.capped)
    assert.deepEqual(await balanceOf(tenant.id), {
      balance: 8_750_000n,
      held: 0n,
      available: 8_750_000n,
    })

    const entry = await db.from('ledger_entries').where('id', result.entryId!).firstOrFail()
    assert.equal(entry.kind, 'charge')
    assert.equal(BigInt(entry.amount), -1_250_000n)
    assert.equal(BigInt(entry.balance_after), 8_750_000n)
    assert.equal(entry.hold_id, placed.id)
    assert.equal(entry.reference, 'run-1')
    assert.deepEqual(entry.price, { model: 'simulator/echo', input_per_million: '1' })
    await assertVerified(assert, tenant.id)
  })

  test('spend never exceeds the hold: an actual cost above it is capped', async ({ assert }) => {
    const { tenant } = await WorkspaceFactory.create({ grant: 10n * CREDIT })
    const placed = await hold({ tenantId: tenant.id, amount: 2n * CREDIT })
    const result = await settle(placed, 5n * CREDIT)
    assert.equal(result.charged, 2n * CREDIT)
    assert.isTrue(result.capped)
    assert.equal((await balanceOf(tenant.id)).balance, 8n * CREDIT)
    await assertVerified(assert, tenant.id)
  })

  test('settling twice is a no-op that returns the first result; a zero cost charges nothing', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create({ grant: 5n * CREDIT })
    const placed = await hold({ tenantId: tenant.id, amount: CREDIT })
    const first = await settle(placed.id, 400_000n)
    const second = await settle(placed.id, 900_000n)
    assert.isTrue(second.replayed)
    assert.equal(second.charged, 400_000n)
    assert.equal(second.entryId, first.entryId)
    assert.equal((await balanceOf(tenant.id)).balance, 4_600_000n)

    const free = await settle(await hold({ tenantId: tenant.id, amount: CREDIT }), 0n)
    assert.equal(free.charged, 0n)
    assert.isNull(free.entryId)
    assert.equal(
      await db
        .from('ledger_entries')
        .where('tenant_id', tenant.id)
        .where('kind', 'charge')
        .count('* as n')
        .first()
        .then((r) => Number(r.n)),
      1
    )
    await assertVerified(assert, tenant.id)
  })

  test('release frees a pending hold once; a released hold can no longer be settled or extended', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create({ grant: 5n * CREDIT })
    const placed = await hold({ tenantId: tenant.id, amount: 2n * CREDIT })
    assert.equal((await release(placed.id)).status, 'released')
    assert.equal((await release(placed.id)).status, 'released')
    assert.deepEqual(await accountOf(tenant.id), { balance: 5n * CREDIT, held: 0n })
    await assert.rejects(() => settle(placed.id, 1n), HoldNotPendingException)
    await assert.rejects(() => extend(placed.id, 1n), HoldNotPendingException)

    // Releasing a settled hold changes nothing either.
    const settled = await hold({ tenantId: tenant.id, amount: CREDIT })
    await settle(settled.id, 10n)
    assert.equal((await release(settled.id)).status, 'settled')
    assert.deepEqual(await accountOf(tenant.id), { balance: 5n * CREDIT - 10n, held: 0n })
    await assertVerified(assert, tenant.id)
  })

  test('extend grows a pending hold while available suffices, else 402 with needed vs available', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create({ grant: 3n * CREDIT })
    const placed = await hold({ tenantId: tenant.id, amount: CREDIT })
    const grown = await extend(placed.id, CREDIT, { ttlSeconds: 3600 })
    assert.equal(grown.amount, 2n * CREDIT)
    assert.isAbove(grown.expiresAt.getTime(), Date.now() + 3000 * 1000)
    const error = await extend(placed.id, 2n * CREDIT).catch((e) => e)
    assert.instanceOf(error, InsufficientCreditsException)
    assert.equal(error.status, 402)
    assert.equal(error.message, 'needs 2 credits, 1 available')
    const result = await settle(placed.id, 10n * CREDIT)
    assert.equal(result.charged, 2n * CREDIT)
    await assertVerified(assert, tenant.id)
  })

  test('not enough credits → InsufficientCreditsException (402) naming needed and available', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create({ grant: CREDIT })
    await hold({ tenantId: tenant.id, amount: 600_000n })
    const error = await hold({ tenantId: tenant.id, amount: 500_000n }).catch((e) => e)
    assert.instanceOf(error, InsufficientCreditsException)
    assert.equal(error.code, 'E_INSUFFICIENT_CREDITS')
    assert.equal(error.message, 'needs 0.5 credits, 0.4 available')
    assert.equal(error.needed, 500_000n)
    assert.equal(error.available, 400_000n)
    // A tenant that never had credits: its account appears, empty.
    const { tenant: empty } = await WorkspaceFactory.create()
    await assert.rejects(
      () => hold({ tenantId: empty.id, amount: 1n }),
      'needs 0.000001 credits, 0 available'
    )
    assert.deepEqual(await accountOf(empty.id), { balance: 0n, held: 0n })
  })

  test('a reused idempotency key returns the first hold and reserves once', async ({ assert }) => {
    const { tenant } = await WorkspaceFactory.create({ grant: 5n * CREDIT })
    const first = await hold({ tenantId: tenant.id, amount: CREDIT, idempotencyKey: 'run-42' })
    const again = await hold({ tenantId: tenant.id, amount: 3n * CREDIT, idempotencyKey: 'run-42' })
    assert.equal(again.id, first.id)
    assert.isTrue(again.replayed)
    assert.equal(again.amount, CREDIT)
    const [a, b] = await Promise.all([
      hold({ tenantId: tenant.id, amount: CREDIT, idempotencyKey: 'run-43' }),
      hold({ tenantId: tenant.id, amount: CREDIT, idempotencyKey: 'run-43' }),
    ])
    assert.equal(a.id, b.id)
    assert.equal((await accountOf(tenant.id)).held, 2n * CREDIT)
    // The same key in another tenant is another hold.
    const { tenant: other } = await WorkspaceFactory.create({ grant: 5n * CREDIT })
    assert.notEqual(
      (await hold({ tenantId: other.id, amount: CREDIT, idempotencyKey: 'run-42' })).id,
      first.id
    )
    await assertVerified(assert, tenant.id)
  })

  test('the sweeper expires stale holds by database time, once; a stale hold cannot be settled', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create({ grant: 5n * CREDIT })
    const stale = await hold({ tenantId: tenant.id, amount: 2n * CREDIT })
    const fresh = await hold({ tenantId: tenant.id, amount: CREDIT })
    await backdate(stale.id)
    assert.include(
      await (await import('#credits')).verifyLedger(tenant.id).then((v) => v.join('\n')),
      'after its expiry'
    )
    assert.isAtLeast(await expireStaleHolds(), 1)
    assert.equal(
      await expireStaleHolds()
        .then(() => db.from('credit_holds').where('id', stale.id).firstOrFail())
        .then((r) => r.status),
      'expired'
    )
    assert.deepEqual(await accountOf(tenant.id), { balance: 5n * CREDIT, held: CREDIT })
    await assert.rejects(() => settle(stale.id, 1n), HoldNotPendingException)
    assert.equal((await settle(fresh.id, 1n)).charged, 1n)
    await assertVerified(assert, tenant.id)

    // A hold past its expiry is expired on touch even before the sweeper runs.
    const late = await hold({ tenantId: tenant.id, amount: CREDIT })
    await backdate(late.id)
    const error = await settle(late.id, 1n).catch((e) => e)
    assert.instanceOf(error, HoldNotPendingException)
    assert.include(error.message, 'expired')
    assert.equal((await accountOf(tenant.id)).held, 0n)
    await assertVerified(assert, tenant.id)
  })

  test('unknown holds and bad arguments are refused with typed errors', async ({ assert }) => {
    const { tenant } = await WorkspaceFactory.create({ grant: CREDIT })
    await assert.rejects(() => settle(randomUUID(), 1n), HoldNotFoundException)
    await assert.rejects(() => release('not-a-uuid'), CreditsInputException)
    // Another tenant's hold is not found through this tenant.
    const { tenant: other } = await WorkspaceFactory.create({ grant: CREDIT })
    const foreign = await hold({ tenantId: other.id, amount: 1n })
    await assert.rejects(
      () => settle(foreign.id, 1n, { tenantId: tenant.id }),
      HoldNotFoundException
    )
    for (const amount of [0n, -1n, 1.5 as any, '1e3' as any, Number.NaN as any, 10n ** 19n]) {
      await assert.rejects(() => hold({ tenantId: tenant.id, amount }), CreditsInputException)
    }
    await assert.rejects(() => hold({ tenantId: randomUUID(), amount: 1n }), CreditsInputException)
    await assert.rejects(
      () => hold({ tenantId: tenant.id, amount: 1n, ttlSeconds: 0 }),
      CreditsInputException
    )
    await assert.rejects(() => settle(foreign.id, -1n), CreditsInputException)
    await assertVerified(assert, tenant.id)
  })
})

test.group('credits / grants, adjustments, refunds', () => {
  test('a grant appends an entry, is audited, and a reused key returns the same entry', async ({
    assert,
  }) => {
    const { tenant, owner } = await WorkspaceFactory.create()
    const first = await grant({
      tenantId: tenant.id,
      amount: 5n * CREDIT,
      reason: 'welcome',
      idempotencyKey: 'g-1',
      actorId: owner.id,
    })
    const again = await grant({
      tenantId: tenant.id,
      amount: 5n * CREDIT,
      reason: 'welcome',
      idempotencyKey: 'g-1',
    })
    assert.equal(again.entry.id, first.entry.id)
    assert.isTrue(again.replayed)
    assert.equal(first.entry.balanceAfter, 5n * CREDIT)
    await assert.rejects(
      () => grant({ tenantId: tenant.id, amount: 6n * CREDIT, reason: 'x', idempotencyKey: 'g-1' }),
      IdempotencyConflictException
    )
    assert.equal((await balanceOf(tenant.id)).balance, 5n * CREDIT)
    const audit = await db.from('audit_events').where('subject_id', first.entry.id).firstOrFail()
    assert.equal(audit.action, 'credits.grant.created')
    assert.equal(audit.actor_id, owner.id)
    assert.deepInclude(audit.changes, { amount: '5', reason: 'welcome' })
    await assert.rejects(
      () => grant({ tenantId: tenant.id, amount: 5n, reason: '  ' }),
      CreditsInputException
    )
  })

  test('an adjustment may go either way but never below available zero', async ({ assert }) => {
    const { tenant } = await WorkspaceFactory.create({ grant: 5n * CREDIT })
    await hold({ tenantId: tenant.id, amount: 3n * CREDIT })
    const down = await adjust({ tenantId: tenant.id, amount: -2n * CREDIT, reason: 'correction' })
    assert.equal(down.entry.amount, -2n * CREDIT)
    const error = await adjust({ tenantId: tenant.id, amount: -1n, reason: 'too much' }).catch(
      (e) => e
    )
    assert.instanceOf(error, InsufficientCreditsException)
    assert.equal(error.message, 'needs 0.000001 credits, 0 available')
    await adjust({ tenantId: tenant.id, amount: 1n, reason: 'goodwill' })
    assert.deepEqual(await balanceOf(tenant.id), {
      balance: 3n * CREDIT + 1n,
      held: 3n * CREDIT,
      available: 1n,
    })
    assert.equal(
      (await db.from('audit_events').where('subject_id', down.entry.id).firstOrFail()).action,
      'credits.adjustment.created'
    )
    await assert.rejects(
      () => adjust({ tenantId: tenant.id, amount: 0n, reason: 'nothing' }),
      CreditsInputException
    )
    await assertVerified(assert, tenant.id)
  })

  test('a refund gives back at most what a charge took, linked to its hold', async ({ assert }) => {
    const { tenant } = await WorkspaceFactory.create({ grant: 5n * CREDIT })
    const settled = await settle(
      await hold({ tenantId: tenant.id, amount: 2n * CREDIT }),
      1_500_000n
    )
    const part = await refund({
      tenantId: tenant.id,
      chargeId: settled.entryId!,
      amount: 500_000n,
      reason: 'bad answer',
    })
    assert.equal(part.entry.kind, 'refund')
    assert.equal(part.entry.holdId, settled.hold.id)
    const rest = await refund({
      tenantId: tenant.id,
      chargeId: settled.entryId!,
      reason: 'all of it',
    })
    assert.equal(rest.entry.amount, CREDIT)
    await assert.rejects(
      () => refund({ tenantId: tenant.id, chargeId: settled.entryId!, reason: 'again' }),
      'at most 0 credits of this charge can still be refunded'
    )
    assert.equal((await balanceOf(tenant.id)).balance, 5n * CREDIT)
    assert.equal(
      (await db.from('audit_events').where('subject_id', part.entry.id).firstOrFail()).action,
      'credits.refund.created'
    )
    await assertVerified(assert, tenant.id)
  })

  test('the ledger is append-only in the database; only deleting the workspace removes it', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create({ grant: CREDIT })
    const entry = await db.from('ledger_entries').where('tenant_id', tenant.id).firstOrFail()
    await assert.rejects(
      () =>
        db.transaction((trx) =>
          trx.from('ledger_entries').where('id', entry.id).update({ amount: 2 })
        ),
      /append-only/
    )
    await assert.rejects(
      () => db.transaction((trx) => trx.from('ledger_entries').where('id', entry.id).delete()),
      /append-only/
    )
    // The app role has no right to rewrite money at all.
    await assert.rejects(
      () =>
        withTenant(tenant.id, (trx) =>
          trx.from('ledger_entries').where('id', entry.id).update({ reference: 'x' })
        ),
      /permission denied/
    )
    await db.from('tenants').where('id', tenant.id).delete()
    assert.isNull(await db.from('ledger_entries').where('tenant_id', tenant.id).first())
    assert.isNull(await db.from('credit_accounts').where('tenant_id', tenant.id).first())
  })
})
