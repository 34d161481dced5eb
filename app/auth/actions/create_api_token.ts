import db from '@adonisjs/lucid/services/db'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import { recordAudit } from '#platform'
import User from '#auth/models/user'
import type { ApiAbility } from '#auth/abilities'
import { deleteTokens } from '#auth/services/token_cache'

/**
 * Issues an API token (its secret is returned once and only its hash is stored). A token is
 * bound to one tenant; `abilities` empty means everything the member's role allows.
 */
export async function createApiToken(input: {
  user: User
  tenantId: string | null
  name: string
  abilities: ApiAbility[]
  expiresIn?: string
}) {
  const token = await User.accessTokens.create(
    input.user,
    input.abilities.length ? input.abilities : ['*'],
    {
      name: input.name,
      expiresIn: input.expiresIn,
    }
  )
  try {
    await db
      .from('auth_access_tokens')
      .where('id', Number(token.identifier))
      .update({ tenant_id: input.tenantId })
  } catch (error) {
    await User.accessTokens.delete(input.user, token.identifier)
    throw error
  }
  await recordAudit({
    action: 'auth.token.created',
    actorId: input.user.id,
    actorLabel: input.user.email,
    tenantId: input.tenantId,
    subjectType: 'api_token',
    subjectId: String(token.identifier),
    changes: {
      name: input.name,
      abilities: input.abilities,
      expires_at: token.expiresAt?.toISOString() ?? null,
    },
  })
  return {
    id: String(token.identifier),
    secret: token.value!.release(),
    expiresAt: token.expiresAt,
  }
}

/** Revokes one of the user's tokens; false when it is not theirs (or does not exist). */
export async function revokeApiToken(user: User, tokenId: string) {
  const id = Number(tokenId)
  if (!Number.isSafeInteger(id) || id <= 0) return false
  if (!(await deleteTokens({ id, userId: user.id }))) return false
  await recordAudit({
    action: 'auth.token.revoked',
    actorId: user.id,
    actorLabel: user.email,
    subjectType: 'api_token',
    subjectId: String(id),
  })
  return true
}

/** Deletes a user's tokens bound to one tenant (membership removed). */
export async function revokeTokensForTenant(
  userId: string,
  tenantId: string,
  trx?: TransactionClientContract
) {
  await deleteTokens({ userId, tenantId }, trx)
}
