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
}

/** What `acquire` answers: whether to call, the state seen, and whether the last calls failed. */
export type Gate = { allowed: boolean; state: BreakerState; failures: number }

interface BreakerStore {
  acquire(id: string, settings: BreakerSettings): Promise<Gate>
  failure(id: string, settings: BreakerSettings): Promise<BreakerState>
  success(id: string): Promise<void>
  state(id: string): Promise<BreakerState>
}

type Entry = { state: BreakerState; failures: number; openUntil: number; probeUntil: number }

/** One process's breakers (no Redis): the same state machine as the Redis scripts below. */
export class MemoryBreakerStore implements BreakerStore {
  #entries = new Map<string, Entry>()
  constructor(private now: () => number = Date.now) {}

  async acquire(id: string, settings: BreakerSettings): Promise<Gate> {
    const entry = this.#entries.get(id)
    if (!entry || entry.state === 'closed')
      return { allowed: true, state: 'closed', failures: entry?.failures ?? 0 }
    const now = this.now()
    if (entry.state === 'open' && now < entry.openUntil)
      return { allowed: false, state: 'open', failures: entry.failures }
    if (entry.state === 'half_open' && now < entry.probeUntil)
      return { allowed: false, state: 'half_open', failures: entry.failures }
    entry.state = 'half_open'
    entry.probeUntil = now + settings.probeLeaseMs
    return { allowed: true, state: 'half_open', failures: entry.failures }
  }

  async failure(id: string, settings: BreakerSettings): Promise<BreakerState> {
    const entry = this.#entries.get(id) ?? {
      state: 'closed' as BreakerState,
      failures: 0,
      openUntil: 0,
      probeUntil: 0,
    }
    entry.failures += 1
    if (entry.state === 'half_open' || entry.failures >= settings.failureThreshold) {
      entry.state = 'open'
      entry.openUntil = this.now() + settings.cooldownMs
    }
    this.#entries.set(id, entry)
    return entry.state
  }

  async success(id: string) {
    this.#entries.delete(id)
  }

  async state(id: string): Promise<BreakerState> {
    return this.#entries.get(id)?.state ?? 'closed'
  }
}

/*
 * Shared breakers in Redis: one hash per provider, changed only by these scripts so every step
 * is atomic across processes. Time is Redis's own clock (TIME), so processes need not agree.
 */
const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`

const ACQUIRE = `${NOW}
local s = redis.call('HMGET', KEYS[1], 'state', 'failures', 'open_until', 'probe_until')
local state = s[1] or 'closed'
local failures = tonumber(s[2] or '0')
if state == 'closed' then return {1, state, failures} end
if state == 'open' and now < tonumber(s[3] or '0') then return {0, state, failures} end
if state == 'half_open' and now < tonumber(s[4] or '0') then return {0, state, failures} end
redis.call('HSET', KEYS[1], 'state', 'half_open', 'probe_until', now + tonumber(ARGV[1]))
return {1, 'half_open', failures}`

const FAILURE = `${NOW}
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
if state == 'half_open' or failures >= tonumber(ARGV[1]) then
  state = 'open'
  redis.call('HSET', KEYS[1], 'state', 'open', 'open_until', now + tonumber(ARGV[2]))
elseif state ~= 'open' then
  redis.call('HSET', KEYS[1], 'state', 'closed')
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return state`

export class RedisBreakerStore implements BreakerStore {
  #key(id: string) {
    return `agora:breaker:${id}`
  }

  async acquire(id: string, settings: BreakerSettings): Promise<Gate> {
    const [allowed, state, failures] = (await redis.eval(
      ACQUIRE,
      1,
      this.#key(id),
      settings.probeLeaseMs
    )) as [number, BreakerState, number]
    return { allowed: allowed === 1, state, failures: Number(failures) }
  }

  async failure(id: string, settings: BreakerSettings): Promise<BreakerState> {
    // Forgotten a day after the last failure, so idle providers leave nothing behind.
    const ttl = Math.max(settings.cooldownMs * 10, 24 * 3600 * 1000)
    return (await redis.eval(
      FAILURE,
      1,
      this.#key(id),
      settings.failureThreshold,
      settings.cooldownMs,
      ttl
    )) as BreakerState
  }

  async success(id: string) {
    await redis.del(this.#key(id))
  }

  async state(id: string): Promise<BreakerState> {
    return ((await redis.hget(this.#key(id), 'state')) as BreakerState | null) ?? 'closed'
  }
}

let store: BreakerStore = redisUrl ? new RedisBreakerStore() : new MemoryBreakerStore()

/** Swaps the store (tests use a memory store with a fake clock). */
export function useBreakerStore(next: BreakerStore) {
  const previous = store
  store = next
  return previous
}

/**
 * A circuit breaker per provider: closed → open after `failureThreshold` consecutive failures
 * (429/5xx/timeouts/network) → after `cooldownMs`, half-open lets ONE probe through: success
 * closes it, failure re-opens it. Shared through Redis when REDIS_URL is set; if Redis fails,
 * calls are let through (the breaker protects the provider, it must not take runs down).
 */
export const breaker = {
  async acquire(id: string, settings: BreakerSettings): Promise<Gate> {
    try {
      return await store.acquire(id, settings)
    } catch (error) {
      logger.warn(
        { err: error, provider_id: id },
        'circuit breaker unavailable; letting the call through'
      )
      return { allowed: true, state: 'closed', failures: 0 }
    }
  },
  async failure(id: string, settings: BreakerSettings) {
    try {
      return await store.failure(id, settings)
    } catch (error) {
      logger.warn(
        { err: error, provider_id: id },
        'circuit breaker unavailable; failure not recorded'
      )
      return 'closed' as BreakerState
    }
  },
  /** After a success; `gate` is what acquire answered, so a healthy closed breaker costs no write. */
  async success(id: string, gate: Gate) {
    if (gate.state === 'closed' && gate.failures === 0) return
    try {
      await store.success(id)
    } catch (error) {
      logger.warn(
        { err: error, provider_id: id },
        'circuit breaker unavailable; success not recorded'
      )
    }
  },
  state(id: string) {
    return store.state(id)
  },
}
