import cache from '@adonisjs/cache/services/main'
import db from '@adonisjs/lucid/services/db'
import type { StoredProviderSettings } from '#agents/providers/types'

export type ProviderKind = 'simulator' | 'openai_compatible' | 'anthropic'

/** What an adapter needs to reach a provider; the key stays encrypted until an adapter is built. */
export type ProviderRef = {
  id: string
  kind: ProviderKind
  slug: string
  tenantId: string | null
  baseUrl: string | null
  apiKeyEncrypted: string | null
  /** As stored: header values stay sealed until an adapter is built. */
  settings: StoredProviderSettings
  /** Changes whenever the row changes: adapters are rebuilt then. */
  version: string
}

/**
 * A catalog model with its provider and the prices in force at the time the catalog was asked
 * for (micro-credits per 1M tokens, from the price book).
 */
export type CatalogModel = {
  id: string
  name: string
  /** The id sent to the provider. */
  upstreamModel: string
  providerKind: ProviderKind
  providerSlug: string
  providerId: string
  /** Null for platform models; a tenant's own models are visible to that tenant only. */
  tenantId: string | null
  inputPrice: bigint
  outputPrice: bigint
  /** When the price in force started (ISO), null when the model has no price-book entry. */
  priceEffectiveFrom: string | null
  contextWindow: number
  /** Chat models answer runs; embedding models embed knowledge. */
  kind: ModelKind
  provider: ProviderRef
}

export type ModelKind = 'chat' | 'embedding'

type PriceRow = { input: string; output: string; from: number }
type Row = {
  id: string
  name: string
  upstream_model: string | null
  context_window: number
  model_kind: ModelKind
  input_price_micros: string
  output_price_micros: string
  tenant_id: string | null
  provider_id: string
  kind: string
  slug: string
  base_url: string | null
  api_key_encrypted: string | null
  settings: StoredProviderSettings | string | null
  provider_updated_at: string | Date
  /** The price in force when loaded and every later one, newest first. */
  prices: PriceRow[]
}

const TTL = '30s'

function scopeKey(tenantId: string | null) {
  return tenantId ? `catalog:tenant:${tenantId}` : 'catalog:platform'
}

/** Rows of one scope: platform models (tenantId null) or one tenant's own models. */
async function load(tenantId: string | null): Promise<Row[]> {
  const query = db
    .from('models')
    .join('providers', 'providers.id', 'models.provider_id')
    .select(
      'models.id',
      'models.name',
      'models.upstream_model',
      'models.context_window',
      'models.kind as model_kind',
      'models.input_price_micros',
      'models.output_price_micros',
      'models.tenant_id',
      'providers.id as provider_id',
      'providers.kind',
      'providers.slug',
      'providers.base_url',
      'providers.api_key_encrypted',
      'providers.settings',
      'providers.updated_at as provider_updated_at'
    )
  // A model and its provider belong to the same scope; both are checked so no row can lend
  // one tenant's provider to another.
  if (tenantId) query.where('models.tenant_id', tenantId).where('providers.tenant_id', tenantId)
  else query.whereNull('models.tenant_id').whereNull('providers.tenant_id')
  const rows = (await query) as Omit<Row, 'prices'>[]
  if (rows.length === 0) return []
  const prices = await db
    .from('model_prices as mp')
    .whereIn(
      'mp.model_id',
      rows.map((row) => row.id)
    )
    .whereRaw(
      `(mp.effective_from > now() OR mp.effective_from = (
         SELECT max(p2.effective_from) FROM model_prices p2
         WHERE p2.model_id = mp.model_id AND p2.effective_from <= now()))`
    )
    .orderBy('mp.effective_from', 'desc')
    .select('mp.model_id', 'mp.input_price_micros', 'mp.output_price_micros', 'mp.effective_from')
  const byModel = new Map<string, PriceRow[]>()
  for (const price of prices) {
    const list = byModel.get(price.model_id) ?? []
    list.push({
      input: String(price.input_price_micros),
      output: String(price.output_price_micros),
      from: new Date(price.effective_from).getTime(),
    })
    byModel.set(price.model_id, list)
  }
  return rows.map((row) => ({
    ...row,
    provider_updated_at: String(new Date(row.provider_updated_at).getTime()),
    prices: byModel.get(row.id) ?? [],
  }))
}

function scope(tenantId: string | null) {
  return cache
    .namespace('agents')
    .getOrSet({ key: scopeKey(tenantId), ttl: TTL, factory: () => load(tenantId) })
}

function toModel(row: Row, at: number): CatalogModel {
  // Newest first: the first entry that started at or before `at` is the one in force.
  const price = row.prices.find((p) => p.from <= at)
  const settings =
    (typeof row.settings === 'string' ? JSON.parse(row.settings) : row.settings) ?? {}
  return {
    id: row.id,
    name: row.name,
    upstreamModel: row.upstream_model ?? row.name,
    providerKind: row.kind as ProviderKind,
    providerSlug: row.slug,
    providerId: row.provider_id,
    tenantId: row.tenant_id,
    inputPrice: BigInt(price?.input ?? row.input_price_micros),
    outputPrice: BigInt(price?.output ?? row.output_price_micros),
    priceEffectiveFrom: price ? new Date(price.from).toISOString() : null,
    contextWindow: row.context_window,
    kind: row.model_kind ?? 'chat',
    provider: {
      id: row.provider_id,
      kind: row.kind as ProviderKind,
      slug: row.slug,
      tenantId: row.tenant_id,
      baseUrl: row.base_url,
      apiKeyEncrypted: row.api_key_encrypted,
      settings,
      version: `${row.provider_id}:${row.provider_updated_at}`,
    },
  }
}

/**
 * The models a tenant may use, by name: platform models plus the tenant's own (a tenant's model
 * shadows a platform model of the same name). Without a tenant: platform models only. Prices
 * are those in force at `at` (default now). Cached 30 s per scope; writes invalidate.
 */
export async function catalog(
  tenantId: string | null = null,
  at: Date = new Date(),
  kind: ModelKind = 'chat'
): Promise<Map<string, CatalogModel>> {
  const time = at.getTime()
  const [platform, own] = await Promise.all([
    scope(null),
    tenantId ? scope(tenantId) : Promise.resolve([] as Row[]),
  ])
  const models = new Map<string, CatalogModel>()
  for (const row of [...platform, ...own])
    if ((row.model_kind ?? 'chat') === kind) models.set(row.name, toModel(row, time))
  return models
}

/** The embedding models a tenant may use for its knowledge, by name (as catalog() for chat). */
export function embeddingCatalog(tenantId: string, at: Date = new Date()) {
  return catalog(tenantId, at, 'embedding')
}

/** Drops the cached catalog of a scope (null = platform) after a write. */
export async function invalidateCatalog(tenantId: string | null) {
  await cache.namespace('agents').delete({ key: scopeKey(tenantId) })
}

/** Micro-credits for a usage at the given prices: ceil((in × pIn + out × pOut) / 1M). */
export function costMicros(
  inputTokens: number,
  outputTokens: number,
  model: Pick<CatalogModel, 'inputPrice' | 'outputPrice'>
) {
  const numerator =
    BigInt(inputTokens) * model.inputPrice + BigInt(outputTokens) * model.outputPrice
  return (numerator + 999_999n) / 1_000_000n
}

/** The price of a model as stored on runs, steps and charges. */
export function priceRecord(model: CatalogModel) {
  return {
    model: model.name,
    model_id: model.id,
    input_price_micros: String(model.inputPrice),
    output_price_micros: String(model.outputPrice),
    effective_from: model.priceEffectiveFrom,
  }
}

/**
 * The provider (slug) of each (tenant, model name) pair as that workspace saw it: its own model
 * of that name, else the platform's — two workspaces may name their models alike. Keys are
 * `${tenantId}:${model}`; unknown models are absent. For the platform analytics page.
 */
export async function providersOfModels(pairs: { tenantId: string; model: string }[]) {
  const found = new Map<string, string>()
  if (!pairs.length) return found
  const { rows } = await db.rawQuery(
    `SELECT pair.tenant_id, pair.model, p.slug
       FROM unnest(?::uuid[], ?::text[]) AS pair (tenant_id, model)
       JOIN LATERAL (
         SELECT m.provider_id FROM models m
          WHERE m.name = pair.model AND (m.tenant_id = pair.tenant_id OR m.tenant_id IS NULL)
          ORDER BY m.tenant_id NULLS LAST LIMIT 1
       ) m ON true
       JOIN providers p ON p.id = m.provider_id`,
    [pairs.map((pair) => pair.tenantId), pairs.map((pair) => pair.model)]
  )
  for (const row of rows) found.set(`${row.tenant_id}:${row.model}`, row.slug)
  return found
}
