import { recordAudit } from '#platform'
import User from '#auth/models/user'
import { sendPasswordResetEmail } from '#auth/services/auth_mail'

/**
 * Sends a reset link when the address belongs to an active account, and nothing otherwise; the
 * caller answers the same either way, so the form never tells who has an account.
 */
export async function requestPasswordReset(email: string) {
  const user = await User.query().whereRaw('lower(email) = lower(?)', [email]).first()
  await recordAudit({
    action: 'auth.password.reset_requested',
    actorLabel: email.slice(0, 254),
    subjectType: 'user',
    subjectId: user?.id ?? null,
  })
  if (user && !user.disabledAt) await sendPasswordResetEmail(user)
}
