import db from '@adonisjs/lucid/services/db'
import hash from '@adonisjs/core/services/hash'
import { recordAudit } from '#platform'
import User from '#auth/models/user'
import { passwordProblem } from '#auth/services/password_policy'

export type SignUpResult = { user: User } | { error: { field: string; message: string } }

/**
 * Creates an account. A taken email gives the same outcome to the caller as a new one would
 * (the controller shows one neutral message), so sign-up never reveals who has an account.
 */
export async function signUp(input: {
  name: string
  email: string
  password: string
}): Promise<SignUpResult | { taken: true }> {
  const problem = passwordProblem(input.password, { email: input.email })
  if (problem) return { error: { field: 'password', message: problem } }
  const result = await insertUser(input)
  // A taken address pays the hash a new account pays: the answer's timing tells nothing either.
  if ('taken' in result) await hash.make(input.password)
  return result
}

function insertUser(input: { name: string; email: string; password: string }) {
  return db
    .transaction(async (trx) => {
      const exists = await trx
        .from('users')
        .whereRaw('lower(email) = lower(?)', [input.email])
        .first()
      if (exists) return { taken: true as const }
      const user = await User.create(
        {
          name: input.name,
          email: input.email,
          password: input.password,
          timeZone: 'UTC',
          platformAdmin: false,
        },
        { client: trx }
      )
      await recordAudit(
        {
          action: 'auth.user.signed_up',
          actorId: user.id,
          actorLabel: user.email,
          subjectType: 'user',
          subjectId: user.id,
        },
        trx
      )
      return { user }
    })
    .catch((error) => {
      if (error?.code === '23505') return { taken: true as const } // a concurrent sign-up won the race
      throw error
    })
}
