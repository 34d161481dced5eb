import db from '@adonisjs/lucid/services/db'
import { anonymiseAuditActor, recordAudit } from '#platform'
import type User from '#auth/models/user'
import { deletionBlocker } from '#auth/services/hooks'
import { forgetUser } from '#auth/services/token_cache'

/**
 * Deletes an account: refused while another module objects (e.g. the last owner of a workspace).
 * The user row goes (sessions, tokens, memberships cascade); audit rows keep the id as a
 * pseudonym with the personal data erased.
 */
export async function deleteAccount(user: User): Promise<{ refused: string } | { deleted: true }> {
  const reason = await deletionBlocker(user)
  if (reason) return { refused: reason }
  await db.transaction(async (trx) => {
    await recordAudit(
      { action: 'auth.user.deleted', actorId: user.id, subjectType: 'user', subjectId: user.id },
      trx
    )
    await trx.from('users').where('id', user.id).delete()
    await anonymiseAuditActor(user.id, trx)
    await forgetUser(user.id, trx)
  })
  return { deleted: true }
}
