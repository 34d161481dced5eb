import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import CreditsGrant from '#credits/commands/credits_grant'
import CreditsAdjust from '#credits/commands/credits_adjust'
import CreditsBalance from '#credits/commands/credits_balance'
import CreditsVerify from '#credits/commands/credits_verify'
import CreditsSweep from '#credits/commands/credits_sweep'
import { hold } from '#credits'
import { runCommand } from '#tests/helpers/ace'
import { CREDIT } from '#tests/credits/helpers'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

/** Exit 1, nothing on stdout, and exactly one `error: …` line on stderr. */
function assertRefused(
  assert: any,
  result: Awaited<ReturnType<typeof runCommand>>,
  pattern?: RegExp
) {
  assert.equal(result.exitCode, 1)
  assert.equal(result.stdout, '')
  assert.match(result.stderr.trim(), /^error: [^\n]+$/)
  if (pattern) assert.match(result.stderr, pattern)
}

test.group('credits / commands', () => {
  test('credits:grant prints the ledger entry id; the same idempotency key grants once', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create()
    const result = await runCommand(CreditsGrant, [
      tenant.slug,
      '12.5',
      '--reason=welcome',
      '--idempotency-key=g-1',
    ])
    assert.equal(result.exitCode, 0)
    const entry = await db.from('ledger_entries').where('tenant_id', tenant.id).firstOrFail()
    assert.equal(result.stdout, `${entry.id}\n`)
    assert.equal(BigInt(entry.amount), 12_500_000n)
    assert.equal(entry.reference, 'welcome')
    const again = await runCommand(CreditsGrant, [
      tenant.slug,
      '12.5',
      '--reason=welcome',
      '--idempotency-key=g-1',
    ])
    assert.equal(again.stdout, result.stdout)
    const audit = await db.from('audit_events').where('subject_id', entry.id).firstOrFail()
    assert.equal(audit.actor_label, 'cli')

    const balance = await runCommand(CreditsBalance, [tenant.slug])
    assert.equal(balance.stdout, 'balance=12.5 held=0 available=12.5\n')
  })

  test('credits:grant refuses bad amounts, a missing reason and unknown tenants with one line', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create()
    for (const amount of ['1.0000001', 'abc', '-1', '0', '1e3', 'NaN', '10000000000000000']) {
      assertRefused(assert, await runCommand(CreditsGrant, [tenant.slug, amount, '--reason=x']))
    }
    assertRefused(
      assert,
      await runCommand(CreditsGrant, [tenant.slug, '1', '--reason=  ']),
      /reason is required/
    )
    assertRefused(
      assert,
      await runCommand(CreditsGrant, ['no-such-tenant', '1', '--reason=x']),
      /no tenant/
    )
    assertRefused(
      assert,
      await runCommand(CreditsGrant, [tenant.slug, '1', '--reason=x', '--idempotency-key=k']).then(
        () => runCommand(CreditsGrant, [tenant.slug, '2', '--reason=x', '--idempotency-key=k'])
      ),
      /already used/
    )
    assert.equal(
      (await runCommand(CreditsBalance, [tenant.slug])).stdout,
      'balance=1 held=0 available=1\n'
    )
  })

  test('credits:adjust takes signed amounts (as argument, after --, or --amount) and refuses to go below available 0', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create({ grant: 10n * CREDIT })
    await hold({ tenantId: tenant.id, amount: 4n * CREDIT })
    const down = await runCommand(CreditsAdjust, [tenant.slug, '-2.5', '--reason=correction'])
    assert.equal(down.exitCode, 0, down.stderr)
    assert.match(down.stdout, /^[0-9a-f-]{36}\n$/)
    assert.equal(
      (await runCommand(CreditsAdjust, [tenant.slug, '--reason=after dashes', '--', '-1']))
        .exitCode,
      0
    )
    assert.equal(
      (await runCommand(CreditsAdjust, [tenant.slug, '--amount=-0.5', '--reason=flag'])).exitCode,
      0
    )
    assert.equal((await runCommand(CreditsAdjust, [tenant.slug, '+1', '--reason=up'])).exitCode, 0)
    assert.equal(
      (await runCommand(CreditsBalance, [tenant.slug])).stdout,
      'balance=7 held=4 available=3\n'
    )

    assertRefused(
      assert,
      await runCommand(CreditsAdjust, [tenant.slug, '--reason=too much', '--', '-3.000001']),
      /needs 3\.000001 credits, 3 available/
    )
    assertRefused(assert, await runCommand(CreditsAdjust, [tenant.slug, '0', '--reason=zero']))
    assertRefused(assert, await runCommand(CreditsAdjust, [tenant.slug, '--reason=none']))
    assertRefused(
      assert,
      await runCommand(CreditsAdjust, [tenant.slug, '1', '--amount=1', '--reason=twice'])
    )
    assert.equal(
      (await runCommand(CreditsBalance, [tenant.slug])).stdout,
      'balance=7 held=4 available=3\n'
    )
  })

  test('credits:verify is clean for a sound ledger and reports a corrupted balance with exit 1', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create({ grant: 5n * CREDIT })
    await hold({ tenantId: tenant.id, amount: CREDIT })
    const clean = await runCommand(CreditsVerify, [tenant.slug])
    assert.equal(clean.exitCode, 0)
    assert.equal(clean.stdout, '')

    await db
      .from('credit_accounts')
      .where('tenant_id', tenant.id)
      .update({ balance: db.raw('balance + 1') })
    try {
      const broken = await runCommand(CreditsVerify, [tenant.slug])
      assert.equal(broken.exitCode, 1)
      assert.include(broken.stdout, `${tenant.slug}: balance 5.000001 ≠ sum of ledger entries 5`)
      // Also found when every tenant is checked.
      const all = await runCommand(CreditsVerify, [])
      assert.equal(all.exitCode, 1)
      assert.include(all.stdout, `${tenant.slug}: balance 5.000001`)
    } finally {
      await db
        .from('credit_accounts')
        .where('tenant_id', tenant.id)
        .update({ balance: db.raw('balance - 1') })
    }

    await db.from('credit_accounts').where('tenant_id', tenant.id).update({ held: 0 })
    try {
      const lines = (await runCommand(CreditsVerify, [tenant.slug])).stdout
      assert.include(lines, 'held 0 ≠ sum of pending holds 1')
    } finally {
      await db
        .from('credit_accounts')
        .where('tenant_id', tenant.id)
        .update({ held: CREDIT.toString() })
    }
    assert.equal((await runCommand(CreditsVerify, [tenant.slug])).exitCode, 0)
    assertRefused(assert, await runCommand(CreditsVerify, ['no-such-tenant']))
  })

  test('credits:sweep expires stale holds and prints how many', async ({ assert }) => {
    const { tenant } = await WorkspaceFactory.create({ grant: 5n * CREDIT })
    const stale = await hold({ tenantId: tenant.id, amount: CREDIT })
    await db
      .from('credit_holds')
      .where('id', stale.id)
      .update({ expires_at: db.raw(`now() - interval '1 minute'`) })
    assert.equal((await runCommand(CreditsVerify, [tenant.slug])).exitCode, 1)
    const swept = await runCommand(CreditsSweep, [])
    assert.equal(swept.exitCode, 0)
    assert.match(swept.stdout, /^expired=[1-9]\d*\n$/)
    assert.equal(
      (await db.from('credit_holds').where('id', stale.id).firstOrFail()).status,
      'expired'
    )
    assert.equal(
      (await runCommand(CreditsBalance, [tenant.slug])).stdout,
      'balance=5 held=0 available=5\n'
    )
    assert.equal((await runCommand(CreditsVerify, [tenant.slug])).exitCode, 0)
  })
})
