import { createHash, randomBytes } from 'node:crypto'
import db from '@adonisjs/lucid/services/db'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import User from '#auth/models/user'

export type TokenPurpose = 'password_reset' | 'email_verification'

/** How long a link works: a reset link is a password, so it lives briefly. */
const LIFETIME_MS: Record<TokenPurpose, number> = {
  password_reset: 60 * 60 * 1000,
  email_verification: 24 * 60 * 60 * 1000,
}

/** 32 random bytes in base64url: exactly 43 characters. Anything else is not worth a query. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/

export type UserTokenRow = {
  id: string
  user_id: string
  purpose: TokenPurpose
  email: string | null
  expires_at: Date
  used_at: Date | null
}

export type TokenLookup =
  { state: 'valid'; token: UserTokenRow; user: User } | { state: 'unknown' | 'expired' | 'used' }

/** Only this hash is stored: a database leak does not hand out working links. */
export function hashToken(raw: string) {
  return createHash('sha256').update(raw).digest('hex')
}

function sameEmail(a: string | null, b: string) {
  return (a ?? '').toLowerCase() === b.toLowerCase()
}

/** An email-verification token whose address differs from the account's asks to change it. */
export function isEmailChange(token: UserTokenRow, user: User) {
  return token.purpose === 'email_verification' && !sameEmail(token.email, user.email)
}

/**
 * Issues a single-use token and returns its raw value (for the link; never stored). A new reset
 * link, or a new email-change link, makes the user's older unused ones expire, so only the
 * latest request can succeed.
 */
export async function issueUserToken(user: User, purpose: TokenPurpose, email: string) {
  const raw = randomBytes(32).toString('base64url')
  const now = new Date()
  await db.transaction(async (trx) => {
    const older = trx
      .from('user_tokens')
      .where('user_id', user.id)
      .where('purpose', purpose)
      .whereNull('used_at')
      .where('expires_at', '>', now)
    if (purpose === 'password_reset') {
      await older.update({ expires_at: now })
    } else if (!sameEmail(email, user.email)) {
      await older.whereRaw('lower(email) <> lower(?)', [user.email]).update({ expires_at: now })
    }
    await trx.table('user_tokens').insert({
      user_id: user.id,
      purpose,
      token_hash: hashToken(raw),
      email,
      expires_at: new Date(now.getTime() + LIFETIME_MS[purpose]),
    })
  })
  return raw
}

/** What a link's token is worth right now. Tokens of disabled accounts count as unknown. */
export async function findUserToken(raw: unknown, purpose: TokenPurpose): Promise<TokenLookup> {
  if (typeof raw !== 'string' || !TOKEN_SHAPE.test(raw)) return { state: 'unknown' }
  const token: UserTokenRow | null = await db
    .from('user_tokens')
    .where('token_hash', hashToken(raw))
    .where('purpose', purpose)
    .first()
  if (!token) return { state: 'unknown' }
  if (token.used_at) return { state: 'used' }
  if (new Date(token.expires_at).getTime() <= Date.now()) return { state: 'expired' }
  const user = await User.find(token.user_id)
  if (!user || user.disabledAt) return { state: 'unknown' }
  return { state: 'valid', token, user }
}

/** Marks the token used; false when a concurrent request used (or it expired) first. */
export async function consumeUserToken(tokenId: string, trx: TransactionClientContract) {
  const now = new Date()
  const rows = await trx
    .from('user_tokens')
    .where('id', tokenId)
    .whereNull('used_at')
    .where('expires_at', '>', now)
    .update({ used_at: now }, ['id'])
  return rows.length > 0
}

/** Ends every outstanding link of a user (after an email change or a password reset). */
export async function expireUserTokens(
  userId: string,
  trx: TransactionClientContract,
  purpose?: TokenPurpose
) {
  const now = new Date()
  const query = trx
    .from('user_tokens')
    .where('user_id', userId)
    .whereNull('used_at')
    .where('expires_at', '>', now)
  if (purpose) query.where('purpose', purpose)
  await query.update({ expires_at: now })
}
