import { test } from '@japa/runner'
import type { Assert } from '@japa/assert'
import { randomUUID } from 'node:crypto'
import db from '@adonisjs/lucid/services/db'
import {
  expireStaleHolds,
  grant,
  hold,
  HoldNotPendingException,
  InsufficientCreditsException,
  settle,
  verifyLedger,
} from '#credits'
import type { NewHoldOp } from '#credits/actions/apply_hold_batch'
import {
  accountOf,
  aceProcess,
  CREDIT,
  dropTenants,
  otherProcessBatch,
} from '#tests/credits/helpers'
import { TenantFactory } from '#database/factories/tenant_factory'

/*
 * Real concurrency needs a real server: PGlite runs one query at a time and proves nothing here.
 * These tests commit (tagged @committed) and delete their own workspaces.
 */
const NO_POSTGRES = !process.env.DATABASE_URL
const SKIP_REASON =
  'needs PostgreSQL: set DATABASE_URL (PGlite serialises every query, so concurrency proves nothing on it)'

const newHold = (amount: bigint, idempotencyKey: string | null = null): NewHoldOp => ({
  kind: 'hold',
  amount,
  reference: 'concurrency',
  idempotencyKey,
  memberId: null,
  agentId: null,
  ttlSeconds: 600,
})

/** A committed test on PostgreSQL with its own scratch workspace, deleted afterwards. */
function pgTest(
  title: string,
  fn: (tenant: { id: string; slug: string }, assert: Assert) => Promise<void>,
  timeout = 30_000
) {
  test(title, async ({ assert }) => {
    const tenant = await TenantFactory.merge({ name: 'credits concurrency' }).create()
    try {
      await fn(tenant, assert)
    } finally {
      await dropTenants(tenant.id)
    }
  })
    .tags(['@committed'])
    .skip(NO_POSTGRES, SKIP_REASON)
    .timeout(timeout)
}

test.group('credits / concurrency (PostgreSQL)', () => {
  pgTest(
    'N parallel holds against a balance covering exactly k: exactly k succeed',
    async (tenant, assert) => {
      const k = 37
      await grant({ tenantId: tenant.id, amount: BigInt(k) * CREDIT, reason: 'exactly k' })
      // This process (batched through its queue) and eight "other processes" (their own
      // transactions on other connections, fast path first like the queue) race for one row.
      const mine = Array.from({ length: 60 }, () =>
        hold({ tenantId: tenant.id, amount: CREDIT }).then(
          () => 1,
          (e) => (e instanceof InsufficientCreditsException ? 0 : Promise.reject(e))
        )
      )
      const theirs = Array.from({ length: 8 }, () =>
        otherProcessBatch(
          tenant.id,
          Array.from({ length: 10 }, () => newHold(CREDIT))
        ).then((outcomes) =>
          outcomes.reduce((n, outcome) => {
            if (!outcome.ok && !(outcome.error instanceof InsufficientCreditsException))
              throw outcome.error
            return n + (outcome.ok ? 1 : 0)
          }, 0)
        )
      )
      const placed = (await Promise.all([...mine, ...theirs])).reduce((a, b) => a + b, 0)
      assert.equal(placed, k)
      assert.deepEqual(await accountOf(tenant.id), {
        balance: BigInt(k) * CREDIT,
        held: BigInt(k) * CREDIT,
      })
      const pending = await db
        .from('credit_holds')
        .where('tenant_id', tenant.id)
        .where('status', 'pending')
        .count('* as n')
        .first()
      assert.equal(Number(pending.n), k)
      assert.deepEqual(await verifyLedger(tenant.id), [])
    }
  )

  pgTest(
    'separate processes racing for one balance: exactly k holds in total',
    async (tenant, assert) => {
      const k = 300
      await grant({ tenantId: tenant.id, amount: BigInt(k), reason: 'exactly k micro-credits' })
      const args = [
        'bench:holds',
        `--tenant=${tenant.id}`,
        '--concurrency=16',
        '--seconds=3',
        '--warmup=0',
        '--amount=1',
      ]
      const runs = await Promise.all([
        aceProcess(args),
        aceProcess(args),
        aceProcess([...args, '--mode=naive']),
      ])
      const results = runs.map((run) => {
        assert.equal(run.code, 0, run.stderr)
        return JSON.parse(run.stdout.trim().split('\n').at(-1)!)
      })
      assert.equal(
        results.reduce((sum, r) => sum + r.holds, 0),
        k
      )
      assert.isTrue(
        results.every((r) => r.errors === 0),
        JSON.stringify(results)
      )
      assert.deepEqual(await accountOf(tenant.id), { balance: BigInt(k), held: BigInt(k) })
      assert.deepEqual(await verifyLedger(tenant.id), [])
    },
    90_000
  )

  pgTest(
    'one idempotency key fired 50× concurrently has one effect (holds, settles, grants)',
    async (tenant, assert) => {
      await grant({ tenantId: tenant.id, amount: 100n * CREDIT, reason: 'funds' })
      const key = `run-${randomUUID()}`
      const viaQueue = Array.from({ length: 40 }, () =>
        hold({ tenantId: tenant.id, amount: 3n * CREDIT, idempotencyKey: key }).then((h) => h.id)
      )
      const viaOthers = Array.from({ length: 10 }, () =>
        otherProcessBatch(tenant.id, [newHold(3n * CREDIT, key)]).then(([outcome]) => {
          if (!outcome.ok) throw outcome.error
          return (outcome.value as { id: string }).id
        })
      )
      const ids = await Promise.all([...viaQueue, ...viaOthers])
      assert.lengthOf(new Set(ids), 1)
      assert.equal((await accountOf(tenant.id)).held, 3n * CREDIT)

      const settles = await Promise.all([
        ...Array.from({ length: 40 }, () => settle(ids[0], 2n * CREDIT)),
        ...Array.from({ length: 10 }, () =>
          otherProcessBatch(tenant.id, [
            { kind: 'settle', holdId: ids[0], actual: 2n * CREDIT, price: null },
          ]).then(([outcome]) => {
            if (!outcome.ok) throw outcome.error
            return outcome.value as { entryId: string | null; replayed: boolean }
          })
        ),
      ])
      assert.lengthOf(new Set(settles.map((s) => s.entryId)), 1)
      assert.lengthOf(
        settles.filter((s) => !s.replayed),
        1
      )
      const charges = await db
        .from('ledger_entries')
        .where('tenant_id', tenant.id)
        .where('kind', 'charge')
        .count('* as n')
        .first()
      assert.equal(Number(charges.n), 1)

      const grantKey = `grant-${randomUUID()}`
      const grants = await Promise.all(
        Array.from({ length: 50 }, () =>
          grant({ tenantId: tenant.id, amount: CREDIT, reason: 'once', idempotencyKey: grantKey })
        )
      )
      assert.lengthOf(new Set(grants.map((g) => g.entry.id)), 1)
      assert.deepEqual(await accountOf(tenant.id), { balance: 99n * CREDIT, held: 0n })
      assert.deepEqual(await verifyLedger(tenant.id), [])
    }
  )

  pgTest(
    'holds left pending by a killed process are expired by the sweeper and the ledger verifies',
    async (tenant, assert) => {
      await grant({ tenantId: tenant.id, amount: 1000n * CREDIT, reason: 'funds' })
      let pid = 0
      const child = aceProcess(
        [
          'bench:holds',
          `--tenant=${tenant.id}`,
          '--concurrency=8',
          '--seconds=60',
          '--warmup=0',
          '--ttl=2',
        ],
        { onSpawn: (p) => (pid = p) }
      )
      // Kill it mid-flight, once it has placed holds (some batches are then in flight).
      const deadline = Date.now() + 45_000
      while ((await accountOf(tenant.id)).held < 20n && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100))
      process.kill(pid, 'SIGKILL')
      const run = await child
      assert.equal(run.signal, 'SIGKILL')
      const held = (await accountOf(tenant.id)).held
      assert.isAbove(Number(held), 0)
      assert.deepEqual(
        await verifyLedger(tenant.id),
        [],
        'consistent right after the crash (holds still before expiry)'
      )

      await new Promise((r) => setTimeout(r, 2500))
      assert.isNotEmpty(
        await verifyLedger(tenant.id),
        'pending holds past their expiry are a violation until swept'
      )
      assert.isAtLeast(await expireStaleHolds(), Number(held))
      assert.deepEqual(await accountOf(tenant.id), { balance: 1000n * CREDIT, held: 0n })
      const states = await db
        .from('credit_holds')
        .where('tenant_id', tenant.id)
        .groupBy('status')
        .select('status')
        .count('* as n')
      assert.deepEqual(
        states.map((s) => s.status),
        ['expired']
      )
      assert.deepEqual(await verifyLedger(tenant.id), [])
      // Expired is final: a late settle from a revived worker cannot charge.
      const one = await db.from('credit_holds').where('tenant_id', tenant.id).firstOrFail()
      await assert.rejects(() => settle(one.id, 1n), HoldNotPendingException)
    },
    90_000
  )
})
