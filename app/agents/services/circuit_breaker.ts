import redis from '@adonisjs/redis/services/main'
import logger from '@adonisjs/core/services/logger'
import { redisUrl } from '#config/redis_url'

export type BreakerState = 'closed' | 'open' | 'half_open'

export type BreakerSettings = {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number
  /** How long it stays open before one probe may go through. */
  cooldownMs: number
  /** How long a probe may take before another caller may probe instead (a lost probe). */
  probeLeaseMs: number
  /** Shared providers: distinct tenants whose own kind of failure opens the shared breaker (3). */
  tenantQuorum?: number
  /** …when they all fall within this window (60 s). */
  quorumWindowMs?: number
}

const DEFAULT_QUORUM = 3
const DEFAULT_QUORUM_WINDOW_MS = 60_000

/**
 * Which breakers a call goes through. A provider id alone: one breaker for the provider (a
 * tenant's own provider: every caller is that tenant). A platform provider shared by tenants:
 * its shared breaker AND the calling tenant's own one, so no tenant can switch it off for others.
 */
export type BreakerKey = string | { providerId: string; tenantId: string }

/**
 * Whom a failure is evidence against: the provider (5xx, network) counts on the shared breaker;
 * the tenant (its request timed out or was rate limited) only on the tenant's own, plus one
 * witness towards the quorum of tenants that opens the shared one.
 */
export type Blame = 'provider' | 'tenant'

/**
 * What `acquire` answers: whether to call, the state seen, whether the last calls failed, and
 * (when refused) whether the provider's breaker or only the tenant's own one refused.
 */
export type Gate = {
  allowed: boolean
  state: BreakerState
  failures: number
  blocked?: 'provider' | 'tenant'
}

interface BreakerStore {
  acquire(key: BreakerKey, settings: BreakerSettings): Promise<Gate>
  failure(
    key: BreakerKey,
    settings: BreakerSettings,
    blame?: Blame,
    probe?: boolean
  ): Promise<BreakerState>
  success(key: BreakerKey): Promise<void>
  state(key: BreakerKey): Promise<BreakerState>
}

/** The ids of a key's breakers (shared first) and of its quorum of tenant witnesses. */
function idsOf(key: BreakerKey) {
  if (typeof key === 'string') return { shared: key, tenant: null, witnesses: null }
  return {
    shared: key.providerId,
    tenant: `${key.providerId}:tenant:${key.tenantId}`,
    witnesses: `${key.providerId}:witnesses`,
  }
}

type Entry = { state: BreakerState; failures: number; openUntil: number; probeUntil: number }

/** One process's breakers (no Redis): the same state machine as the Redis scripts below. */
export class MemoryBreakerStore implements BreakerStore {
  #entries = new Map<string, Entry>()
  /** Per shared provider: tenant id → when it last failed in its own way. */
  #witnesses = new Map<string, Map<string, number>>()
  constructor(private now: () => number = Date.now) {}

  async acquire(key: BreakerKey, settings: BreakerSettings): Promise<Gate> {
    const { shared, tenant } = idsOf(key)
    const now = this.now()
    const ids = tenant ? [shared, tenant] : [shared]
    const looks = ids.map((id) => this.#look(id, now))
    const failures = looks.reduce((sum, look) => sum + look.failures, 0)
    const denied = looks.findIndex((look) => look.verdict === 'deny')
    if (denied >= 0)
      return {
        allowed: false,
        state: looks[denied].state,
        failures,
        blocked: denied === 0 ? 'provider' : 'tenant',
      }
    let state: BreakerState = 'closed'
    for (const [index, look] of looks.entries()) {
      if (look.verdict !== 'probe') continue
      const entry = this.#entries.get(ids[index])!
      entry.state = 'half_open'
      entry.probeUntil = now + settings.probeLeaseMs
      state = 'half_open'
    }
    return { allowed: true, state, failures }
  }

  async failure(
    key: BreakerKey,
    settings: BreakerSettings,
    blame: Blame = 'provider',
    probe = false
  ): Promise<BreakerState> {
    const { shared, tenant, witnesses } = idsOf(key)
    const now = this.now()
    if (!tenant || !witnesses) return this.#fail(shared, settings, now)
    if (blame === 'provider') {
      this.#fail(shared, settings, now)
      if (probe) this.#release(tenant)
    } else {
      this.#fail(tenant, settings, now)
      const window = settings.quorumWindowMs ?? DEFAULT_QUORUM_WINDOW_MS
      const seen = this.#witnesses.get(witnesses) ?? new Map<string, number>()
      seen.set((key as { tenantId: string }).tenantId, now)
      for (const [id, at] of seen) if (now - at >= window) seen.delete(id)
      if (seen.size >= (settings.tenantQuorum ?? DEFAULT_QUORUM)) {
        const entry = this.#entries.get(shared) ?? this.#fresh()
        entry.state = 'open'
        entry.openUntil = now + settings.cooldownMs
        this.#entries.set(shared, entry)
        this.#witnesses.delete(witnesses)
      } else {
        this.#witnesses.set(witnesses, seen)
        if (probe) this.#release(shared)
      }
    }
    return this.state(key)
  }

  async success(key: BreakerKey) {
    const { shared, tenant } = idsOf(key)
    this.#entries.delete(shared)
    if (tenant) this.#entries.delete(tenant)
  }

  async state(key: BreakerKey): Promise<BreakerState> {
    const { shared, tenant } = idsOf(key)
    const state = this.#entries.get(shared)?.state ?? 'closed'
    if (state !== 'closed' || !tenant) return state
    return this.#entries.get(tenant)?.state ?? 'closed'
  }

  #fresh(): Entry {
    return { state: 'closed', failures: 0, openUntil: 0, probeUntil: 0 }
  }

  #look(id: string, now: number) {
    const entry = this.#entries.get(id)
    const state = entry?.state ?? 'closed'
    const failures = entry?.failures ?? 0
    const verdict: 'pass' | 'deny' | 'probe' =
      !entry || state === 'closed'
        ? 'pass'
        : (state === 'open' && now < entry.openUntil) ||
            (state === 'half_open' && now < entry.probeUntil)
          ? 'deny'
          : 'probe'
    return { verdict, state, failures }
  }

  #fail(id: string, settings: BreakerSettings, now: number): BreakerState {
    const entry = this.#entries.get(id) ?? this.#fresh()
    entry.failures += 1
    if (entry.state === 'half_open' || entry.failures >= settings.failureThreshold) {
      entry.state = 'open'
      entry.openUntil = now + settings.cooldownMs
    }
    this.#entries.set(id, entry)
    return entry.state
  }

  /** A probe whose failure says nothing about this breaker: the next caller may probe at once. */
  #release(id: string) {
    const entry = this.#entries.get(id)
    if (entry?.state === 'half_open') entry.probeUntil = 0
  }
}

/*
 * Shared breakers in Redis: one hash per breaker (KEYS[1] the provider's, KEYS[2] the calling
 * tenant's for a shared provider) and a sorted set of tenant witnesses (KEYS[3]), changed only
 * by these scripts so every step is atomic across processes. Time is Redis's own clock (TIME),
 * so processes need not agree.
 */
const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`

const ACQUIRE = `${NOW}
local looks = {}
local failures = 0
for i = 1, math.min(#KEYS, 2) do
  local s = redis.call('HMGET', KEYS[i], 'state', 'failures', 'open_until', 'probe_until')
  local state = s[1] or 'closed'
  local verdict = 'probe'
  if state == 'closed' then verdict = 'pass'
  elseif state == 'open' and now < tonumber(s[3] or '0') then verdict = 'deny'
  elseif state == 'half_open' and now < tonumber(s[4] or '0') then verdict = 'deny' end
  looks[i] = {verdict, state}
  failures = failures + tonumber(s[2] or '0')
end
for i = 1, #looks do
  if looks[i][1] == 'deny' then return {0, looks[i][2], failures, i} end
end
local state = 'closed'
for i = 1, #looks do
  if looks[i][1] == 'probe' then
    redis.call('HSET', KEYS[i], 'state', 'half_open', 'probe_until', now + tonumber(ARGV[1]))
    state = 'half_open'
  end
end
return {1, state, failures, 0}`

const FAILURE = `${NOW}
local threshold, cooldown, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local function fail(key)
  local state = redis.call('HGET', key, 'state') or 'closed'
  local failures = redis.call('HINCRBY', key, 'failures', 1)
  if state == 'half_open' or failures >= threshold then
    state = 'open'
    redis.call('HSET', key, 'state', 'open', 'open_until', now + cooldown)
  elseif state ~= 'open' then
    redis.call('HSET', key, 'state', 'closed')
  end
  redis.call('PEXPIRE', key, ttl)
  return state
end
local function release(key)
  if ARGV[5] == '1' and redis.call('HGET', key, 'state') == 'half_open' then
    redis.call('HSET', key, 'probe_until', 0)
  end
end
if #KEYS == 1 then return fail(KEYS[1]) end
if ARGV[4] == 'provider' then
  fail(KEYS[1])
  release(KEYS[2])
else
  fail(KEYS[2])
  local window = tonumber(ARGV[8])
  redis.call('ZADD', KEYS[3], now, ARGV[6])
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - window)
  if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[7]) then
    redis.call('HSET', KEYS[1], 'state', 'open', 'open_until', now + cooldown)
    redis.call('PEXPIRE', KEYS[1], ttl)
    redis.call('DEL', KEYS[3])
  else
    redis.call('PEXPIRE', KEYS[3], window)
    release(KEYS[1])
  end
end
local shared = redis.call('HGET', KEYS[1], 'state') or 'closed'
if shared ~= 'closed' then return shared end
return redis.call('HGET', KEYS[2], 'state') or 'closed'`

export class RedisBreakerStore implements BreakerStore {
  #keys(key: BreakerKey) {
    const { shared, tenant, witnesses } = idsOf(key)
    const name = (id: string) => `agora:breaker:${id}`
    return tenant && witnesses ? [name(shared), name(tenant), name(witnesses)] : [name(shared)]
  }

  async acquire(key: BreakerKey, settings: BreakerSettings): Promise<Gate> {
    const keys = this.#keys(key)
    const [allowed, state, failures, blocked] = (await redis.eval(
      ACQUIRE,
      keys.length,
      ...keys,
      settings.probeLeaseMs
    )) as [number, BreakerState, number, number]
    if (allowed === 1) return { allowed: true, state, failures: Number(failures) }
    return {
      allowed: false,
      state,
      failures: Number(failures),
      blocked: Number(blocked) === 1 ? 'provider' : 'tenant',
    }
  }

  async failure(
    key: BreakerKey,
    settings: BreakerSettings,
    blame: Blame = 'provider',
    probe = false
  ): Promise<BreakerState> {
    const keys = this.#keys(key)
    // Forgotten a day after the last failure, so idle providers leave nothing behind.
    const ttl = Math.max(settings.cooldownMs * 10, 24 * 3600 * 1000)
    return (await redis.eval(
      FAILURE,
      keys.length,
      ...keys,
      settings.failureThreshold,
      settings.cooldownMs,
      ttl,
      blame,
      probe ? '1' : '0',
      typeof key === 'string' ? '' : key.tenantId,
      settings.tenantQuorum ?? DEFAULT_QUORUM,
      settings.quorumWindowMs ?? DEFAULT_QUORUM_WINDOW_MS
    )) as BreakerState
  }

  async success(key: BreakerKey) {
    // The witnesses (KEYS[3]) stay: the quorum counts tenants within a window, not in a row.
    await redis.del(...this.#keys(key).slice(0, 2))
  }

  async state(key: BreakerKey): Promise<BreakerState> {
    const [shared, tenant] = this.#keys(key)
    const state = ((await redis.hget(shared, 'state')) as BreakerState | null) ?? 'closed'
    if (state !== 'closed' || !tenant) return state
    return ((await redis.hget(tenant, 'state')) as BreakerState | null) ?? 'closed'
  }
}

let store: BreakerStore = redisUrl ? new RedisBreakerStore() : new MemoryBreakerStore()

/** Swaps the store (tests use a memory store with a fake clock). */
export function useBreakerStore(next: BreakerStore) {
  const previous = store
  store = next
  return previous
}

const idOf = (key: BreakerKey) => (typeof key === 'string' ? key : key.providerId)

/**
 * A circuit breaker per provider: closed → open after `failureThreshold` consecutive failures
 * (429/5xx/timeouts/network) → after `cooldownMs`, half-open lets ONE probe through: success
 * closes it, failure re-opens it. A platform provider also has one breaker per tenant for the
 * failures a tenant may cause itself (see `Blame`); `tenantQuorum` tenants with such failures
 * within `quorumWindowMs` open the shared one. Shared through Redis when REDIS_URL is set; if
 * Redis fails, calls are let through (the breaker protects the provider, it must not take runs
 * down).
 */
export const breaker = {
  async acquire(key: BreakerKey, settings: BreakerSettings): Promise<Gate> {
    try {
      return await store.acquire(key, settings)
    } catch (error) {
      logger.warn(
        { err: error, provider_id: idOf(key) },
        'circuit breaker unavailable; letting the call through'
      )
      return { allowed: true, state: 'closed', failures: 0 }
    }
  },
  /** `probe`: this call was let through as the half-open probe (its gate said half_open). */
  async failure(
    key: BreakerKey,
    settings: BreakerSettings,
    blame: Blame = 'provider',
    probe = false
  ) {
    try {
      return await store.failure(key, settings, blame, probe)
    } catch (error) {
      logger.warn(
        { err: error, provider_id: idOf(key) },
        'circuit breaker unavailable; failure not recorded'
      )
      return 'closed' as BreakerState
    }
  },
  /** After a success; `gate` is what acquire answered, so a healthy closed breaker costs no write. */
  async success(key: BreakerKey, gate: Gate) {
    if (gate.state === 'closed' && gate.failures === 0) return
    try {
      await store.success(key)
    } catch (error) {
      logger.warn(
        { err: error, provider_id: idOf(key) },
        'circuit breaker unavailable; success not recorded'
      )
    }
  },
  /** The provider's own state (a provider id), or what one tenant sees of a shared provider. */
  state(key: BreakerKey) {
    return store.state(key)
  },
}
