/*
 * Credit packs for sale. CREDIT_PACKS overrides the defaults as `id:credits:price_cents,…`
 * (e.g. `small:10:1000,large:100:8000`); prices are in US dollar cents.
 */
export type CreditPack = { id: string; name: string; credits: string; priceCents: number }

const DEFAULT_PACKS: CreditPack[] = [
  { id: 'starter', name: 'Starter', credits: '10', priceCents: 1000 },
  { id: 'growth', name: 'Growth', credits: '50', priceCents: 4500 },
  { id: 'scale', name: 'Scale', credits: '200', priceCents: 16000 },
]

function parsePacks(spec: string | undefined): CreditPack[] {
  if (!spec?.trim()) return DEFAULT_PACKS
  return spec.split(',').map((part) => {
    const match = /^([a-z0-9][a-z0-9-]{0,38}):(\d{1,9}(?:\.\d{1,6})?):(\d{1,9})$/.exec(part.trim())
    if (!match) throw new Error(`CREDIT_PACKS: "${part}" is not id:credits:price_cents`)
    const [, id, credits, cents] = match
    return {
      id,
      name: id.charAt(0).toUpperCase() + id.slice(1),
      credits,
      priceCents: Number(cents),
    }
  })
}

export const creditPacks: CreditPack[] = parsePacks(process.env.CREDIT_PACKS)
