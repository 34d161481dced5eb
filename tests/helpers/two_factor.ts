import { randomInt } from 'node:crypto'
import { Secret, TOTP } from 'otpauth'
import { User } from '#auth'
import { decryptTotpSecret, TOTP_PERIOD_SECONDS } from '#auth/services/totp'
import { startTwoFactor } from '#auth/actions/start_two_factor'
import { confirmTwoFactor } from '#auth/actions/confirm_two_factor'

const STEP_MS = TOTP_PERIOD_SECONDS * 1000

/** The code an authenticator app shows `offsetSteps` steps away from now. */
export function totpCode(secret: string, offsetSteps = 0) {
  return TOTP.generate({
    secret: Secret.fromBase32(secret),
    timestamp: Date.now() + offsetSteps * STEP_MS,
  })
}

/** A 6-digit code valid for none of the steps the server accepts right now. */
export function wrongTotpCode(secret: string) {
  const near = new Set([-1, 0, 1].map((offset) => totpCode(secret, offset)))
  let code = '000000'
  while (near.has(code)) code = String(randomInt(1_000_000)).padStart(6, '0')
  return code
}

/**
 * Waits out the last seconds of a 30 s step, so a code generated now is judged in the same step
 * by the server (no flaky test at a step boundary).
 */
export async function awayFromStepEdge(marginMs = 5000) {
  const left = STEP_MS - (Date.now() % STEP_MS)
  if (left < marginMs) await new Promise((resolve) => setTimeout(resolve, left + 50))
}

/**
 * Turns two-factor on through the real actions, confirmed as if ten minutes ago, so the
 * previous, current and next steps are all still unused. Returns the secret and recovery codes.
 */
export async function enableTwoFactor(user: User) {
  const started = await startTwoFactor(user)
  if (!started) throw new Error('two-factor is already on')
  const then = Date.now() - 10 * 60 * 1000
  const code = TOTP.generate({ secret: Secret.fromBase32(started.secret), timestamp: then })
  const confirmed = await confirmTwoFactor(user, code, then)
  if (!confirmed.ok) throw new Error(`could not confirm two-factor: ${confirmed.reason}`)
  await user.refresh()
  return { secret: started.secret, recoveryCodes: confirmed.recoveryCodes }
}

/** The secret as the server stores it, decrypted. */
export async function storedSecret(userId: string) {
  const user = await User.findOrFail(userId)
  return decryptTotpSecret(user.totpSecretEncrypted)
}
