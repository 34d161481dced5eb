import { createHash } from 'node:crypto'
import { safeEqual, type Secret } from '@adonisjs/core/helpers'
import logger from '@adonisjs/core/services/logger'
import db from '@adonisjs/lucid/services/db'
import { AccessToken, AccessTokensLucidUserProvider } from '@adonisjs/auth/access_tokens'
import { SessionLucidUserProvider } from '@adonisjs/auth/session'
import type {
  AccessTokensLucidUserProviderOptions,
  LucidTokenable,
} from '@adonisjs/auth/types/access_tokens'
import type {
  LucidAuthenticatable,
  SessionLucidUserProviderOptions,
} from '@adonisjs/auth/types/session'
import { hydrate } from '#auth/services/fact_cache'
import {
  API_TOKENS,
  cachedTokenFacts,
  cachedUserFacts,
  forgetTokens,
  loadTokenFacts,
  type TokenFacts,
} from '#auth/services/token_cache'

/** A verified API token, with the tenant it is bound to (null: bound to none). */
export class ApiAccessToken extends AccessToken {
  constructor(
    attributes: ConstructorParameters<typeof AccessToken>[0],
    readonly tenantId: string | null
  ) {
    super(attributes)
  }
}

function toAccessToken(facts: TokenFacts) {
  const date = (value: string | null) => (value === null ? null : new Date(value))
  return new ApiAccessToken(
    {
      identifier: facts.id,
      tokenableId: facts.userId,
      type: facts.type,
      name: facts.name,
      hash: facts.hash,
      abilities: [...facts.abilities],
      createdAt: new Date(facts.createdAt ?? 0),
      updatedAt: new Date(facts.updatedAt ?? 0),
      lastUsedAt: date(facts.lastUsedAt),
      expiresAt: date(facts.expiresAt),
    },
    facts.tenantId
  )
}

/** The secret's SHA-256 against the stored one, in constant time. */
function matches(facts: TokenFacts, secret: Secret<string>) {
  return safeEqual(facts.hash, createHash('sha256').update(secret.release()).digest('hex'))
}

/** `last_used_at` is written at most this often per token. */
export const TOUCH_EVERY_MS = 60_000
const touchedAt = new Map<number, number>()
const TOUCHED_LIMIT = 10_000

/**
 * Records a token's use off the request path, at most once a minute: this process remembers its
 * own writes, and the guarded UPDATE leaves the row alone when another process wrote it lately.
 */
function touch(facts: TokenFacts) {
  const now = Date.now()
  const last = Math.max(
    touchedAt.get(facts.id) ?? 0,
    facts.lastUsedAt ? Date.parse(facts.lastUsedAt) : 0
  )
  if (now - last < TOUCH_EVERY_MS) return
  if (touchedAt.size >= TOUCHED_LIMIT) touchedAt.delete(touchedAt.keys().next().value!)
  touchedAt.set(facts.id, now)
  db.from(API_TOKENS.table)
    .where('id', facts.id)
    .where((query) =>
      query.whereNull('last_used_at').orWhere('last_used_at', '<=', new Date(now - TOUCH_EVERY_MS))
    )
    .update({ last_used_at: new Date(now) })
    .exec()
    .catch((error) =>
      logger.warn({ err: error, token: facts.id }, 'could not record the API token use')
    )
}

/**
 * The access-token guard's user provider, answering from short-lived caches instead of the
 * database: a warm request costs no query. The secret is still checked against the stored hash
 * (timing-safe) and the expiry on every request.
 */
export class CachedTokensUserProvider<
  TokenableProperty extends string,
  UserModel extends LucidTokenable<TokenableProperty>,
> extends AccessTokensLucidUserProvider<TokenableProperty, UserModel> {
  async verifyToken(tokenValue: Secret<string>) {
    const decoded = AccessToken.decode(API_TOKENS.prefix, tokenValue.release())
    if (!decoded || !/^\d{1,15}$/.test(decoded.identifier)) return null
    const id = Number(decoded.identifier)
    const cached = await cachedTokenFacts(id)
    let facts = cached && matches(cached, decoded.secret) ? cached : null
    if (cached && !facts) {
      // A cached row can outlive its database (ids restart after a reset): the database decides.
      const stored = await loadTokenFacts(id)
      if (stored?.hash !== cached.hash) await forgetTokens([id])
      facts = stored && matches(stored, decoded.secret) ? stored : null
    }
    if (!facts) return null
    const token = toAccessToken(facts)
    if (token.isExpired()) return null
    touch(facts)
    return token
  }

  async findById(identifier: string | number | bigint) {
    const facts = await cachedUserFacts(String(identifier))
    if (!facts) return null
    return this.createUserForGuard(hydrate(await this.getModel(), facts))
  }
}

/**
 * The session guard's user provider, from the same cache: a warm page loads no user row. The
 * user comes without its secrets (password hash, TOTP secret); the few actions that check them
 * load them with `withSecrets`.
 */
export class CachedSessionUserProvider<
  UserModel extends LucidAuthenticatable,
> extends SessionLucidUserProvider<UserModel> {
  async findById(identifier: string | number | bigint) {
    const facts = await cachedUserFacts(String(identifier))
    if (!facts) return null
    return this.createUserForGuard(hydrate(await this.getModel(), facts))
  }
}

/** Like `sessionUserProvider` from @adonisjs/auth, with the user cache. */
export function cachedSessionUserProvider<Model extends LucidAuthenticatable>(
  config: SessionLucidUserProviderOptions<Model>
) {
  return new CachedSessionUserProvider(config)
}

/** Like `tokensUserProvider` from @adonisjs/auth, with the caches above. */
export function cachedTokensUserProvider<
  TokenableProperty extends string,
  Model extends LucidTokenable<TokenableProperty>,
>(config: AccessTokensLucidUserProviderOptions<TokenableProperty, Model>) {
  return new CachedTokensUserProvider(config)
}
