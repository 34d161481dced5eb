import hash from '@adonisjs/core/services/hash'
import User from '#auth/models/user'

let dummyHash: Promise<string> | undefined

/**
 * Email + password check that takes the same time whether or not the email exists (a dummy
 * hash is verified for unknown emails), so timing does not reveal accounts.
 */
export async function verifyCredentials(email: string, password: string): Promise<User | null> {
  const user = await User.query().whereRaw('lower(email) = lower(?)', [email.trim()]).first()
  if (!user) {
    dummyHash ??= hash.make('timing-equaliser-password')
    await hash.verify(await dummyHash, password)
    return null
  }
  return (await hash.verify(user.password, password)) ? user : null
}
