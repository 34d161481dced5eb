import { DateTime } from 'luxon'
import db from '@adonisjs/lucid/services/db'
import { recordAudit } from '#platform'
import { InvalidInputException } from '#core'
import type User from '#auth/models/user'
import { passwordProblem } from '#auth/services/password_policy'
import { revokeAllTokens, revokeSessions } from '#auth/services/sessions'
import { consumeUserToken, expireUserTokens, findUserToken } from '#auth/services/user_tokens'

/** Reset, or the state of a link that cannot reset (a page of its own, not a refusal). */
export type ResetPasswordResult =
  { state: 'reset'; user: User } | { state: 'unknown' | 'expired' | 'used' }

/**
 * Sets a new password from a reset link: the token is used up, every other reset link of the
 * user expires, and every session and remember-me token ends (whoever knew the old password is
 * out); with `revokeApiTokens` (the form's default) the user's API tokens end too. A weak
 * password is refused (422 on `password`).
 */
export async function resetPassword(
  rawToken: unknown,
  password: string,
  options: { revokeApiTokens: boolean }
): Promise<ResetPasswordResult> {
  const lookup = await findUserToken(rawToken, 'password_reset')
  if (lookup.state !== 'valid') return lookup
  const { user, token } = lookup
  const problem = passwordProblem(password, { email: user.email, name: user.name })
  if (problem) throw new InvalidInputException('password', problem)

  const done = await db.transaction(async (trx) => {
    if (!(await consumeUserToken(token.id, trx))) return false
    user.useTransaction(trx)
    user.password = password
    // The link reached the inbox, which proves the address as well as a verification link would.
    user.emailVerifiedAt ??= DateTime.now()
    await user.save()
    await expireUserTokens(user.id, trx, 'password_reset')
    await recordAudit(
      {
        action: 'auth.password.reset',
        actorId: user.id,
        actorLabel: user.email,
        subjectType: 'user',
        subjectId: user.id,
        changes: { api_tokens_revoked: options.revokeApiTokens },
      },
      trx
    )
    return true
  })
  if (!done) return { state: 'used' }
  await revokeSessions(user.id)
  if (options.revokeApiTokens) await revokeAllTokens(user.id)
  return { state: 'reset', user }
}
