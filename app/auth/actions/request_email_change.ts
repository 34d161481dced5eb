import db from '@adonisjs/lucid/services/db'
import { recordAudit } from '#platform'
import type User from '#auth/models/user'
import { sendVerificationEmail } from '#auth/services/auth_mail'

/**
 * Sends a confirmation link to the requested address; the account changes only when it is
 * opened. A taken address gets nothing and the caller answers the same, so the form does not
 * reveal who has an account.
 */
export async function requestEmailChange(user: User, newEmail: string) {
  const taken = await db.from('users').whereRaw('lower(email) = lower(?)', [newEmail]).first()
  await recordAudit({
    action: 'auth.email.change_requested',
    actorId: user.id,
    actorLabel: user.email,
    subjectType: 'user',
    subjectId: user.id,
    changes: { email: newEmail },
  })
  if (!taken) await sendVerificationEmail(user, newEmail)
}
