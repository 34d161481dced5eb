import vine from '@vinejs/vine'

/** 1 credit = 1,000,000 micro-credits; money is always an integer number of micro-credits. */
export const MICROS_PER_CREDIT = 1_000_000n

/** Micro-credits → decimal credits string with up to 6 decimals and no trailing zeros. */
export function formatCredits(micros: bigint | number | string): string {
  const value = BigInt(micros)
  const sign = value < 0n ? '-' : ''
  const abs = value < 0n ? -value : value
  const whole = abs / MICROS_PER_CREDIT
  const fraction = (abs % MICROS_PER_CREDIT).toString().padStart(6, '0').replace(/0+$/, '')
  return `${sign}${whole}${fraction ? `.${fraction}` : ''}`
}

/** What formatCredits writes, as a response schema (OpenAPI). */
export const creditsSchema = (
  description = 'Credits as a decimal string (up to 6 decimals, no trailing zeros)'
) =>
  vine
    .string()
    .regex(/^-?\d+(?:\.\d{0,5}[1-9])?$/)
    .meta({ description })

const CREDITS_PATTERN = /^([+-])?(\d{1,15})(?:\.(\d{1,6}))?$/

/**
 * Credits given as a number or decimal string → micro-credits, exactly (no floating point).
 * Returns null for anything that is not a plain decimal with at most 6 decimals.
 */
export function parseCredits(input: unknown): bigint | null {
  let text: string
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return null
    text = input.toFixed(6).replace(/\.?0+$/, '')
  } else if (typeof input === 'string') {
    text = input.trim()
  } else {
    return null
  }
  const match = CREDITS_PATTERN.exec(text)
  if (!match) return null
  const [, sign, whole, fraction = ''] = match
  const micros = BigInt(whole) * MICROS_PER_CREDIT + BigInt(fraction.padEnd(6, '0'))
  return sign === '-' ? -micros : micros
}
