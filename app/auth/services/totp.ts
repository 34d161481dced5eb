import { createHash, randomInt } from 'node:crypto'
import { Secret, TOTP } from 'otpauth'
import encryption from '@adonisjs/core/services/encryption'
import type User from '#auth/models/user'

/** RFC 6238 defaults every authenticator app understands: SHA-1, 6 digits, 30 s steps. */
export const TOTP_PERIOD_SECONDS = 30
const TOTP_DIGITS = 6
/** A code from the step before or after the current one still passes (clock drift, typing time). */
const TOTP_WINDOW = 1
const ISSUER = 'Agora'
/** Binds the ciphertext to its use, so an encrypted value from elsewhere cannot be swapped in. */
const SECRET_PURPOSE = 'auth.totp_secret'

export const RECOVERY_CODE_COUNT = 10
/** No 0/o, 1/l/i: codes are read off paper. 31^10 ≈ 8·10^14 per code. */
const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789'
const RECOVERY_LENGTH = 10
/** Longer input is not a code: refused before any work. */
const MAX_CODE_INPUT = 64

/** A fresh 160-bit secret, base32 (what authenticator apps take for manual entry). */
export function newTotpSecret() {
  return new Secret({ size: 20 }).base32
}

export function encryptTotpSecret(base32: string) {
  return encryption.encrypt(base32, { purpose: SECRET_PURPOSE })
}

/** The base32 secret, or null when the stored value does not decrypt (rotated key, tampering). */
export function decryptTotpSecret(stored: string | null | undefined): string | null {
  if (!stored) return null
  const value = encryption.decrypt<string>(stored, SECRET_PURPOSE)
  return typeof value === 'string' ? value : null
}

function totp(base32: string, label = 'account') {
  return new TOTP({
    issuer: ISSUER,
    label,
    secret: Secret.fromBase32(base32),
    algorithm: 'SHA1',
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
  })
}

/** The 30-second step a timestamp falls in. */
export function totpStep(timestamp = Date.now()) {
  return Math.floor(timestamp / 1000 / TOTP_PERIOD_SECONDS)
}

/**
 * The step a 6-digit code was generated for, if it is within ±1 step of `timestamp`; null
 * otherwise. Callers must still refuse steps already used (replay).
 */
export function matchTotpStep(base32: string, code: string, timestamp = Date.now()): number | null {
  if (!/^\d{6}$/.test(code)) return null
  const delta = totp(base32).validate({ token: code, timestamp, window: TOTP_WINDOW })
  return delta === null ? null : totpStep(timestamp) + delta
}

/** The otpauth:// URI an authenticator app scans. */
export function otpauthUri(base32: string, email: string) {
  return totp(base32, email).toString()
}

/** Strips what the CSP (style-src 'self') would block from an SVG: style attributes and elements. */
export function cspSafeSvg(svg: string) {
  return svg
    .replace(/<\?xml[^>]*>/gi, '')
    .replace(/<style[\s\S]*?<\/style>/gi, '')
    .replace(/\sstyle\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/gi, '')
    .trim()
}

/**
 * The enrolment QR code as inline SVG. qrcode 1.5 emits presentation attributes (fill, stroke),
 * which the CSP allows; anything style-based is stripped all the same.
 */
export async function qrCodeSvg(uri: string) {
  // Loaded on first use: only two-factor enrolment draws QR codes.
  const { default: QRCode } = await import('qrcode')
  const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 })
  return cspSafeSvg(svg).replace(
    /<svg\b/,
    '<svg class="qr-code" width="200" height="200" role="img" aria-label="QR code for your authenticator app"'
  )
}

/** The secret in groups of four, easier to type by hand. */
export function formatSecretForDisplay(base32: string) {
  return base32.replace(/(.{4})(?=.)/g, '$1 ')
}

export type SecondFactor = { kind: 'totp'; code: string } | { kind: 'recovery'; code: string }

/**
 * Reads what a person typed: six digits (spaces allowed) are a TOTP code, ten characters of the
 * recovery alphabet (any case, dashes and spaces ignored) a recovery code; anything else is null.
 */
export function parseSecondFactor(raw: unknown): SecondFactor | null {
  if (typeof raw !== 'string' || raw.length > MAX_CODE_INPUT) return null
  const compact = raw.replace(/[\s-]/g, '').toLowerCase()
  if (/^\d{6}$/.test(compact)) return { kind: 'totp', code: compact }
  if (
    compact.length === RECOVERY_LENGTH &&
    [...compact].every((char) => RECOVERY_ALPHABET.includes(char))
  ) {
    return { kind: 'recovery', code: compact }
  }
  return null
}

/** Recovery codes are stored as the SHA-256 of their normalised form (high entropy: no salt needed). */
export function hashRecoveryCode(normalised: string) {
  return createHash('sha256').update(normalised).digest('hex')
}

/** Ten distinct new codes, shown as `xxxxx-xxxxx`, with their hashes. */
export function newRecoveryCodes() {
  const codes = new Set<string>()
  while (codes.size < RECOVERY_CODE_COUNT) {
    let code = ''
    for (let i = 0; i < RECOVERY_LENGTH; i++)
      code += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)]
    codes.add(code)
  }
  return [...codes].map((code) => ({
    display: `${code.slice(0, 5)}-${code.slice(5)}`,
    hash: hashRecoveryCode(code),
  }))
}

/** True once the user has confirmed an authenticator (what a tenant policy would require). */
export function userHasTwoFactor(user: Pick<User, 'totpEnabledAt'>) {
  return user.totpEnabledAt !== null && user.totpEnabledAt !== undefined
}
