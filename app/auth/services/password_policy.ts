import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
let common: Set<string> | undefined

/** The ~18k most common passwords of 8+ characters, from the zxcvbn-ts common dictionary. */
function commonPasswords() {
  if (!common) {
    const { dictionary } = require('@zxcvbn-ts/language-common') as {
      dictionary: Record<string, string[]>
    }
    common = new Set(dictionary['passwords-common'].filter((word) => word.length >= 8))
  }
  return common
}

export const PASSWORD_MIN = 8
export const PASSWORD_MAX = 128

/** Why a password is refused, or null when it is acceptable (NIST 800-63B style: length + blocklist). */
export function passwordProblem(password: string, context: { email?: string; name?: string } = {}) {
  if (password.length < PASSWORD_MIN) return `Use at least ${PASSWORD_MIN} characters.`
  if (password.length > PASSWORD_MAX) return `Use at most ${PASSWORD_MAX} characters.`
  const lowered = password.toLowerCase()
  if (commonPasswords().has(lowered))
    return 'This password is among the most common ones; choose another.'
  if (context.email && lowered === context.email.toLowerCase())
    return 'Do not use your email address as password.'
  return null
}
