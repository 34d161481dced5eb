import encryption from '@adonisjs/core/services/encryption'

/** What re-sealing needs of an encrypter: the app's, or one built for a test. */
export type Encrypter = {
  encrypt(value: unknown, options: { purpose: string }): string
  decrypt<T>(value: string, purpose: string): T | null
}

/**
 * Re-seals one stored secret under the current key (the first of APP_KEY, APP_KEY_PREVIOUS…):
 * the new ciphertext, or null when no configured key opens it (nothing to do but enter it again).
 */
export function resealer(encrypter: Encrypter = encryption) {
  return (sealed: string, purpose: string): string | null => {
    const value = encrypter.decrypt<string>(sealed, purpose)
    return typeof value === 'string' ? encrypter.encrypt(value, { purpose }) : null
  }
}

export type Reseal = ReturnType<typeof resealer>
type Rewrapper = (reseal: Reseal) => Promise<{ resealed: number; unreadable: number }>
const rewrappers = new Map<string, Rewrapper>()

/** Each module that stores secrets registers how to re-seal them (one name each). */
export function registerSecretRewrap(name: string, rewrap: Rewrapper) {
  rewrappers.set(name, rewrap)
}

/**
 * APP_KEY rotation: re-seals every registered secret under the current key, so the previous
 * key can then be dropped from APP_KEY_PREVIOUS. Per store: how many were re-sealed and how many
 * no configured key could open.
 */
export async function rewrapSecrets(encrypter: Encrypter = encryption) {
  const reseal = resealer(encrypter)
  const results: Record<string, { resealed: number; unreadable: number }> = {}
  for (const [name, rewrap] of rewrappers) results[name] = await rewrap(reseal)
  return results
}
