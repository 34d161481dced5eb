import { parseCredits } from '#core'

/** The tenant for a slug given on the command line, or null. */
export async function tenantBySlug(slug: string) {
  const { Tenant } = await import('#tenants')
  return Tenant.findBy(
    'slug',
    String(slug ?? '')
      .trim()
      .toLowerCase()
  )
}

/**
 * Credits typed by an operator → micro-credits, or a one-line reason why not (parseCredits:
 * plain decimals with at most 6 decimals; nothing else).
 */
export function creditsArgument(
  text: string | undefined,
  options: { signed: boolean }
): { micros: bigint } | { reason: string } {
  const value = parseCredits(text ?? '')
  if (value === null)
    return {
      reason: `"${text ?? ''}" is not an amount of credits (a decimal with at most 6 decimals, e.g. 12.5)`,
    }
  if (!options.signed && value <= 0n) return { reason: 'the amount must be positive' }
  if (value === 0n) return { reason: 'the amount must not be zero' }
  return { micros: value }
}
