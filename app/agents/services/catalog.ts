import cache from '@adonisjs/cache/services/main'
import db from '@adonisjs/lucid/services/db'

/** A catalog model with its provider and prices (micro-credits per 1M tokens). */
export type CatalogModel = {
  id: string
  name: string
  providerKind: 'simulator' | 'openai_compatible' | 'anthropic'
  providerSlug: string
  inputPrice: bigint
  outputPrice: bigint
  contextWindow: number
}

type Row = { id: string; name: string; kind: string; slug: string; input_price_micros: string; output_price_micros: string; context_window: number }

/** The platform catalog, cached briefly (it changes only when an admin edits prices). */
export async function catalog(): Promise<Map<string, CatalogModel>> {
  const rows = await cache.namespace('agents').getOrSet({
    key: 'catalog',
    ttl: '30s',
    factory: async () =>
      (await db
        .from('models')
        .join('providers', 'providers.id', 'models.provider_id')
        .select('models.id', 'models.name', 'providers.kind', 'providers.slug', 'models.input_price_micros', 'models.output_price_micros', 'models.context_window')) as Row[],
  })
  return new Map(
    rows.map((row) => [
      row.name,
      {
        id: row.id,
        name: row.name,
        providerKind: row.kind as CatalogModel['providerKind'],
        providerSlug: row.slug,
        inputPrice: BigInt(row.input_price_micros),
        outputPrice: BigInt(row.output_price_micros),
        contextWindow: row.context_window,
      },
    ])
  )
}

/** Micro-credits for a usage at the given prices: ceil((in × pIn + out × pOut) / 1M). */
export function costMicros(inputTokens: number, outputTokens: number, model: Pick<CatalogModel, 'inputPrice' | 'outputPrice'>) {
  const numerator = BigInt(inputTokens) * model.inputPrice + BigInt(outputTokens) * model.outputPrice
  return (numerator + 999_999n) / 1_000_000n
}
