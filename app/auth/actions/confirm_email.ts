import { DateTime } from 'luxon'
import db from '@adonisjs/lucid/services/db'
import { recordAudit } from '#platform'
import User from '#auth/models/user'
import { sendEmailChangedNotice } from '#auth/services/auth_mail'
import {
  consumeUserToken,
  expireUserTokens,
  findUserToken,
  isEmailChange,
} from '#auth/services/user_tokens'

export type ConfirmEmailResult =
  | { state: 'verified'; user: User }
  | { state: 'changed'; user: User; oldEmail: string }
  | { state: 'taken' }
  | { state: 'unknown' | 'expired' | 'used' }

/**
 * Uses an email-verification link: confirms the account's address, or, for a link sent to a new
 * address, switches the account to it (if no other account took it meanwhile), expires every
 * other outstanding link and tells the old address.
 */
export async function confirmEmail(rawToken: unknown): Promise<ConfirmEmailResult> {
  const lookup = await findUserToken(rawToken, 'email_verification')
  if (lookup.state !== 'valid') return lookup
  const { token } = lookup

  let result: ConfirmEmailResult
  try {
    result = await db.transaction(async (trx): Promise<ConfirmEmailResult> => {
      const user = await User.query({ client: trx })
        .where('id', token.user_id)
        .forUpdate()
        .firstOrFail()
      if (!(await consumeUserToken(token.id, trx))) return { state: 'used' }
      const now = DateTime.now()
      if (!isEmailChange(token, user)) {
        if (user.emailVerifiedAt) return { state: 'verified', user }
        user.emailVerifiedAt = now
        await user.save()
        await recordAudit(
          {
            action: 'auth.email.verified',
            actorId: user.id,
            actorLabel: user.email,
            subjectType: 'user',
            subjectId: user.id,
          },
          trx
        )
        return { state: 'verified', user }
      }
      const newEmail = token.email as string
      const taken = await trx
        .from('users')
        .whereRaw('lower(email) = lower(?)', [newEmail])
        .whereNot('id', user.id)
        .first()
      if (taken) return { state: 'taken' }
      const oldEmail = user.email
      user.merge({ email: newEmail, emailVerifiedAt: now })
      await user.save()
      // Links sent to the old address (or to other requested addresses) must not switch it back.
      await expireUserTokens(user.id, trx)
      await recordAudit(
        {
          action: 'auth.email.changed',
          actorId: user.id,
          actorLabel: newEmail,
          subjectType: 'user',
          subjectId: user.id,
          changes: { email: [oldEmail, newEmail] },
        },
        trx
      )
      return { state: 'changed', user, oldEmail }
    })
  } catch (error: any) {
    if (error?.code === '23505') return { state: 'taken' } // another account took the address concurrently
    throw error
  }
  if (result.state === 'changed') await sendEmailChangedNotice(result.user, result.oldEmail)
  return result
}
