import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { test } from '@japa/runner'
import {
  MemoryBreakerStore,
  RedisBreakerStore,
  type BreakerSettings,
} from '#agents/services/circuit_breaker'
import { blameOf } from '#agents/services/run_executor'
import { ProviderError } from '#agents/providers/types'

/*
 * The shared-provider rules, run identically against both stores: the memory store on a fake
 * clock, the Redis store (when REDIS_URL is set) on Redis's clock with real waits.
 */
type Store = MemoryBreakerStore | RedisBreakerStore
const stores: {
  name: string
  make: () => { store: Store; wait: (ms: number) => Promise<void> }
}[] = [
  {
    name: 'memory',
    make: () => {
      let now = 1_000_000
      return {
        store: new MemoryBreakerStore(() => now),
        wait: async (ms: number) => void (now += ms),
      }
    },
  },
  {
    name: 'redis',
    make: () => ({ store: new RedisBreakerStore(), wait: (ms: number) => sleep(ms) }),
  },
]

const settings: BreakerSettings = {
  failureThreshold: 2,
  cooldownMs: 150,
  probeLeaseMs: 100,
  tenantQuorum: 3,
  quorumWindowMs: 300,
}

for (const { name, make } of stores) {
  test.group(`agents / circuit breaker: shared providers (${name} store)`, (group) => {
    group.tap((t) => t.skip(name === 'redis' && !process.env.REDIS_URL, 'REDIS_URL is not set'))
    let provider: string
    const key = (tenantId: string) => ({ providerId: provider, tenantId })
    let used: Store | null = null
    group.each.setup(() => {
      provider = `test-${randomUUID()}`
      return async () => {
        if (!used) return
        await used.success(provider)
        for (const t of 'abcdef') await used.success(key(t))
        used = null
      }
    })
    const open = () => {
      const made = make()
      used = made.store
      return made
    }

    test("a tenant's own failures open only that tenant's breaker", async ({ assert }) => {
      const { store, wait } = open()
      assert.equal(await store.failure(key('a'), settings, 'tenant'), 'closed')
      assert.equal(await store.failure(key('a'), settings, 'tenant'), 'open')
      assert.deepInclude(await store.acquire(key('a'), settings), {
        allowed: false,
        state: 'open',
        blocked: 'tenant',
      })
      assert.deepEqual(await store.acquire(key('b'), settings), {
        allowed: true,
        state: 'closed',
        failures: 0,
      })
      assert.equal(await store.state(provider), 'closed')
      await wait(170)
      assert.deepInclude(await store.acquire(key('a'), settings), {
        allowed: true,
        state: 'half_open',
      })
      assert.deepInclude(await store.acquire(key('a'), settings), {
        allowed: false,
        blocked: 'tenant',
      })
      assert.isTrue((await store.acquire(key('b'), settings)).allowed)
      await store.success(key('a'))
      assert.equal(await store.state(key('a')), 'closed')
    })

    test('provider failures open the shared breaker for every tenant; any tenant may probe', async ({
      assert,
    }) => {
      const { store, wait } = open()
      await store.failure(key('a'), settings, 'provider')
      assert.equal(await store.failure(key('a'), settings, 'provider'), 'open')
      assert.equal(await store.state(provider), 'open')
      assert.deepInclude(await store.acquire(key('b'), settings), {
        allowed: false,
        state: 'open',
        blocked: 'provider',
      })
      await wait(170)
      assert.deepInclude(await store.acquire(key('b'), settings), {
        allowed: true,
        state: 'half_open',
      })
      assert.isFalse((await store.acquire(key('a'), settings)).allowed)
      assert.equal(await store.failure(key('b'), settings, 'provider', true), 'open')
      await wait(170)
      assert.isTrue((await store.acquire(key('a'), settings)).allowed)
      await store.success(key('a'))
      assert.equal(await store.state(key('b')), 'closed')
      assert.isTrue((await store.acquire(key('b'), settings)).allowed)
    })

    test('tenant failures from a quorum of distinct tenants within the window open the shared breaker', async ({
      assert,
    }) => {
      const { store, wait } = open()
      const many = { ...settings, failureThreshold: 10 }
      await store.failure(key('a'), many, 'tenant')
      await store.failure(key('a'), many, 'tenant') // the same tenant counts once
      await store.failure(key('b'), many, 'tenant')
      assert.equal(await store.state(provider), 'closed')
      await wait(350) // a and b fall out of the window
      await store.failure(key('c'), many, 'tenant')
      await store.failure(key('d'), many, 'tenant')
      assert.equal(await store.state(provider), 'closed')
      assert.equal(await store.failure(key('e'), many, 'tenant'), 'open')
      assert.equal(await store.state(provider), 'open')
      assert.deepInclude(await store.acquire(key('f'), many), {
        allowed: false,
        blocked: 'provider',
      })
    })

    test("a tenant's own failure on the shared probe frees the probe instead of re-opening", async ({
      assert,
    }) => {
      const { store, wait } = open()
      await store.failure(key('a'), settings, 'provider')
      await store.failure(key('a'), settings, 'provider')
      await wait(170)
      assert.deepInclude(await store.acquire(key('a'), settings), { state: 'half_open' })
      assert.isFalse((await store.acquire(key('b'), settings)).allowed)
      await store.failure(key('a'), settings, 'tenant', true)
      assert.equal(await store.state(provider), 'half_open')
      assert.deepInclude(await store.acquire(key('b'), settings), {
        allowed: true,
        state: 'half_open',
      })
      assert.equal(await store.failure(key('b'), settings, 'provider', true), 'open')
    })
  })
}

test.group('agents / circuit breaker: whom a failure blames', () => {
  test("our timeouts and 408/409/425/429 are the tenant's kind; 5xx and network errors the provider's; refused requests neither", ({
    assert,
  }) => {
    const error = (status: number, retryable = true) => new ProviderError('x', status, retryable)
    assert.equal(blameOf(error(504), true), 'tenant')
    for (const status of [408, 409, 425, 429]) assert.equal(blameOf(error(status), false), 'tenant')
    // A 504 that is not our own timeout: the connect timeout or the provider's gateway.
    for (const status of [500, 502, 503, 504, 529])
      assert.equal(blameOf(error(status), false), 'provider')
    for (const status of [400, 401, 403, 413]) assert.isNull(blameOf(error(status, false), false))
    assert.isNull(blameOf(new ProviderError('aborted', 499, false), false))
  })
})
