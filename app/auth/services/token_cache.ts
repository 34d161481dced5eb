import db from '@adonisjs/lucid/services/db'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import type { LucidModel, LucidRow } from '@adonisjs/lucid/types/model'
import { FactCache, toFacts, type Facts } from '#auth/services/fact_cache'

/** An API token as cached: the SHA-256 of its secret (as stored), never the secret. */
export type TokenFacts = {
  id: number
  userId: string
  tenantId: string | null
  type: string
  name: string | null
  hash: string
  abilities: string[]
  createdAt: string | null
  updatedAt: string | null
  lastUsedAt: string | null
  expiresAt: string | null
}

/** Where and how API tokens are stored (User.accessTokens); this cache reads the same rows. */
export const API_TOKENS = {
  table: 'auth_access_tokens',
  type: 'api_token',
  prefix: 'agora_',
  tokenSecretLength: 40,
} as const
const TABLE = API_TOKENS.table
/** Columns of `users` never cached: secrets, and a counter that changes on every 2FA login. */
const USER_SECRETS = ['password', 'totp_secret_encrypted', 'totp_last_step'] as const

const facts = new FactCache('auth')
const tokenKey = (id: number | string) => `token:${id}`
const userKey = (id: string) => `user:${id}`
const sessionKey = (id: string) => `session:${id}`

const iso = (value: Date | string | null) => (value === null ? null : new Date(value).toISOString())

/** Reads a token row from the database (null when it does not exist). */
export async function loadTokenFacts(id: number): Promise<TokenFacts | null> {
  const row = await db.from(TABLE).where({ id, type: API_TOKENS.type }).first()
  if (!row) return null
  return {
    id: Number(row.id),
    userId: row.tokenable_id,
    tenantId: row.tenant_id ?? null,
    type: row.type,
    name: row.name ?? null,
    hash: row.hash,
    abilities: JSON.parse(row.abilities),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    lastUsedAt: iso(row.last_used_at),
    expiresAt: iso(row.expires_at),
  }
}

/** A token's facts from the cache, loaded on a miss. */
export function cachedTokenFacts(id: number) {
  return facts.get(tokenKey(id), () => loadTokenFacts(id))
}

/** A user's row (without secrets) from the cache, loaded on a miss. */
export function cachedUserFacts(userId: string) {
  return facts.get<Facts>(userKey(userId), async () => {
    const row = await db.from('users').where('id', userId).first()
    return row ? toFacts(row, USER_SECRETS) : null
  })
}

/**
 * Loads the secrets a cached user comes without, as if the row had been read whole (not dirty:
 * saving the user does not rehash the password). For the actions that check a password or code.
 */
export async function withSecrets<T extends LucidRow>(user: T): Promise<T> {
  if (user.$attributes.password !== undefined) return user
  const row = await db
    .from('users')
    .where('id', (user as unknown as { id: string }).id)
    .select([...USER_SECRETS])
    .firstOrFail()
  user.$consumeAdapterResult(row)
  const model = user.constructor as LucidModel
  for (const column of USER_SECRETS) {
    const property = model.$keys.columnsToAttributes.get(column)!
    user.$original[property] = user.$attributes[property]
  }
  return user
}

/** A tracked browser session's row from the cache, loaded on a miss. */
export function cachedSessionFacts(sessionId: string) {
  return facts.get<Facts>(sessionKey(sessionId), async () => {
    const row = await db.from('user_sessions').where('id', sessionId).first()
    return row ? toFacts(row) : null
  })
}

/** Forgets tracked sessions (revoked, touched, rebound) in every process. */
export function forgetSessions(ids: string[], trx?: TransactionClientContract | null) {
  return facts.forgetAfterCommit(ids.map(sessionKey), trx)
}

/** Forgets tokens (revoked or deleted) in every process, after `trx` commits when given. */
export function forgetTokens(ids: (number | string)[], trx?: TransactionClientContract | null) {
  return facts.forgetAfterCommit(ids.map(tokenKey), trx)
}

/** Forgets a user's cached row (changed or deleted) in every process, after `trx` commits when given. */
export function forgetUser(userId: string, trx?: TransactionClientContract | null) {
  return facts.forgetAfterCommit([userKey(userId)], trx)
}

/** How many API tokens a user holds (offered for revocation on a password reset). */
export async function countApiTokens(userId: string) {
  const row = await db.from(TABLE).where('tokenable_id', userId).count('* as total').first()
  return Number(row?.total ?? 0)
}

/** Deletes the tokens matching every given field and forgets them; returns how many went. */
export async function deleteTokens(
  where: { id?: number; userId?: string; tenantId?: string },
  trx?: TransactionClientContract
) {
  if (where.id === undefined && where.userId === undefined)
    throw new Error('deleteTokens needs a token id or a user id')
  const query = (trx ?? db).from(TABLE)
  if (where.id !== undefined) query.where('id', where.id)
  if (where.userId !== undefined) query.where('tokenable_id', where.userId)
  if (where.tenantId !== undefined) query.where('tenant_id', where.tenantId)
  const rows: { id: number }[] = await query.delete('id')
  await forgetTokens(
    rows.map((row) => row.id),
    trx
  )
  return rows.length
}
