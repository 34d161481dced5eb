import vine, { errors as vineErrors } from '@vinejs/vine'
import db from '@adonisjs/lucid/services/db'
import { findUnsafeInput, InvalidInputException, isUuid, MAX_YEAR } from '#core'
import { recordAudit } from '#platform'
import { invalidateCatalog, type ProviderKind } from '#agents/services/catalog'
import { sealApiKey } from '#agents/providers/registry'
import type { ProviderSettings } from '#agents/providers/types'

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/
/** Catalog names: what agents reference, e.g. `acme-openai/gpt-4o-mini`. */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,199}$/
const HEADER_NAME = /^[A-Za-z0-9-]{1,64}$/
/** Headers the adapters own. */
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'content-type',
  'connection',
  'transfer-encoding',
  'accept',
])

/** Kinds a tenant may add; the simulator is built in. */
export const PROVIDER_KINDS = ['openai_compatible', 'anthropic'] as const

/** A provider row as the pages and commands show it: never the key, only its last four characters. */
export type ProviderRow = {
  id: string
  tenant_id: string | null
  slug: string
  name: string
  kind: ProviderKind
  base_url: string | null
  api_key_last4: string | null
  settings: ProviderSettings
  created_at: Date
  updated_at: Date
}

const PUBLIC_COLUMNS = [
  'id',
  'tenant_id',
  'slug',
  'name',
  'kind',
  'base_url',
  'api_key_last4',
  'settings',
  'created_at',
  'updated_at',
]

const ms = () => vine.number().withoutDecimals().min(1).max(3_600_000).optional()
const settingsValidator = vine.create(
  vine.object({
    connect_timeout_ms: ms(),
    first_token_timeout_ms: ms(),
    total_timeout_ms: ms(),
    max_retries: vine.number().withoutDecimals().min(0).max(10).optional(),
    max_retry_wait_ms: vine.number().withoutDecimals().min(0).max(3_600_000).optional(),
    breaker: vine
      .object({
        failure_threshold: vine.number().withoutDecimals().min(1).max(1000).optional(),
        cooldown_ms: ms(),
      })
      .optional(),
    api_version: vine
      .string()
      .trim()
      .regex(/^[\w.-]{1,40}$/)
      .optional(),
    auth_header: vine.enum(['authorization', 'api-key', 'x-api-key', 'none'] as const).optional(),
    headers: vine.record(vine.string().maxLength(2000)).optional(),
    stream_usage: vine.boolean().optional(),
    max_tokens_field: vine.enum(['max_tokens', 'max_completion_tokens'] as const).optional(),
    anthropic_version: vine
      .string()
      .trim()
      .regex(/^[\w.-]{1,40}$/)
      .optional(),
  })
)

/** Checks provider settings (a JSON object); field errors name `settings`. */
export async function validateSettings(raw: unknown): Promise<ProviderSettings> {
  if (raw === undefined || raw === null || raw === '') return {}
  let value = raw
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw)
    } catch {
      throw new InvalidInputException('settings', 'Settings must be a JSON object.')
    }
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new InvalidInputException('settings', 'Settings must be a JSON object.')
  // Escapes such as \u0000 in the text are decoded only now: the edge could not see them.
  const unsafe = findUnsafeInput(value, 'settings')
  if (unsafe) throw new InvalidInputException('settings', `${unsafe.field}: ${unsafe.message}`)
  const known = new Set([
    'connect_timeout_ms',
    'first_token_timeout_ms',
    'total_timeout_ms',
    'max_retries',
    'max_retry_wait_ms',
    'breaker',
    'api_version',
    'auth_header',
    'headers',
    'stream_usage',
    'max_tokens_field',
    'anthropic_version',
  ])
  const unknown = Object.keys(value).find((key) => !known.has(key))
  if (unknown) throw new InvalidInputException('settings', `Unknown setting "${unknown}".`)
  try {
    const settings = (await settingsValidator.validate(value)) as ProviderSettings
    for (const name of Object.keys(settings.headers ?? {})) {
      if (!HEADER_NAME.test(name) || RESERVED_HEADERS.has(name.toLowerCase()))
        throw new InvalidInputException('settings', `Header "${name}" cannot be set.`)
    }
    return settings
  } catch (error) {
    if (error instanceof vineErrors.E_VALIDATION_ERROR) {
      const first = (error.messages as { field: string; message: string }[])[0]
      throw new InvalidInputException('settings', `${first.field}: ${first.message}`)
    }
    throw error
  }
}

function checkBaseUrl(kind: string, baseUrl: string | null | undefined) {
  if (!baseUrl) {
    if (kind === 'openai_compatible')
      throw new InvalidInputException(
        'base_url',
        'An OpenAI-compatible provider needs its base URL, e.g. https://api.openai.com/v1.'
      )
    return null
  }
  let url: URL
  try {
    url = new URL(baseUrl)
  } catch {
    throw new InvalidInputException(
      'base_url',
      'Enter a full URL starting with https:// (or http://).'
    )
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new InvalidInputException('base_url', 'Only http:// and https:// URLs are supported.')
  if (url.username || url.password)
    throw new InvalidInputException(
      'base_url',
      'Put credentials in the API key field, not in the URL.'
    )
  if (baseUrl.length > 2048) throw new InvalidInputException('base_url', 'The URL is too long.')
  return url.toString().replace(/\/+$/, '')
}

function checkApiKey(apiKey: string) {
  if (apiKey.length > 4096 || /\s/.test(apiKey))
    throw new InvalidInputException(
      'api_key',
      'That does not look like an API key (no spaces, at most 4096 characters).'
    )
  return apiKey
}

/** The provider of a scope (tenant id, or null for platform-wide), by id or slug, or null. */
export async function findProvider(
  tenantId: string | null,
  idOrSlug: string
): Promise<ProviderRow | null> {
  const query = db.from('providers').select(PUBLIC_COLUMNS)
  if (tenantId) query.where('tenant_id', tenantId)
  else query.whereNull('tenant_id')
  if (isUuid(idOrSlug)) query.where('id', idOrSlug)
  else query.where('slug', idOrSlug)
  return ((await query.first()) as ProviderRow | null) ?? null
}

/** The providers of a scope, by slug. */
export async function listProviders(tenantId: string | null): Promise<ProviderRow[]> {
  const query = db.from('providers').select(PUBLIC_COLUMNS).orderBy('slug')
  if (tenantId) query.where('tenant_id', tenantId)
  else query.whereNull('tenant_id')
  return query
}

/**
 * Adds a provider: a tenant's own (tenantId) or platform-wide (null, platform admins only).
 * The key is encrypted with the app key; only its last four characters are kept in clear.
 */
export async function createProvider(input: {
  tenantId: string | null
  actorId: string | null
  slug: string
  name: string
  kind: string
  baseUrl?: string | null
  apiKey?: string | null
  settings?: unknown
}): Promise<ProviderRow> {
  const slug = input.slug.trim().toLowerCase()
  if (!SLUG.test(slug))
    throw new InvalidInputException(
      'slug',
      'Use 1–40 lower-case letters, digits and dashes, not starting or ending with a dash.'
    )
  if (slug === 'simulator')
    throw new InvalidInputException(
      'slug',
      '"simulator" is the built-in provider; choose another slug.'
    )
  const name = input.name.trim()
  if (!name || name.length > 80)
    throw new InvalidInputException('name', 'Enter a name of at most 80 characters.')
  const allowed: readonly string[] = input.tenantId
    ? PROVIDER_KINDS
    : [...PROVIDER_KINDS, 'simulator']
  if (!allowed.includes(input.kind))
    throw new InvalidInputException('kind', `Choose one of: ${PROVIDER_KINDS.join(', ')}.`)
  const baseUrl = checkBaseUrl(input.kind, input.baseUrl)
  const settings = await validateSettings(input.settings)
  const apiKey = input.apiKey ? checkApiKey(input.apiKey.trim()) : null
  try {
    const row = await db.transaction(async (trx) => {
      const [created] = await trx
        .table('providers')
        .insert({
          tenant_id: input.tenantId,
          slug,
          name,
          kind: input.kind,
          base_url: baseUrl,
          api_key_encrypted: apiKey ? sealApiKey(apiKey) : null,
          api_key_last4: apiKey ? apiKey.slice(-4) : null,
          settings: JSON.stringify(settings),
        })
        .returning(PUBLIC_COLUMNS)
      await recordAudit(
        {
          action: 'agents.provider.created',
          actorId: input.actorId,
          tenantId: input.tenantId,
          subjectType: 'provider',
          subjectId: created.id,
          changes: { slug, kind: input.kind, base_url: baseUrl, api_key: apiKey ? 'set' : 'none' },
        },
        trx
      )
      return created as ProviderRow
    })
    await invalidateCatalog(input.tenantId)
    return row
  } catch (error: any) {
    if (error?.code === '23505')
      throw new InvalidInputException('slug', 'This slug is already used by another provider.')
    throw error
  }
}

/** Changes a provider; an empty or missing `apiKey` keeps the stored key, `removeApiKey` drops it. */
export async function updateProvider(
  provider: ProviderRow,
  input: {
    actorId: string | null
    name?: string
    baseUrl?: string | null
    apiKey?: string | null
    removeApiKey?: boolean
    settings?: unknown
  }
): Promise<ProviderRow> {
  const changes: Record<string, unknown> = { updated_at: new Date() }
  const audit: Record<string, unknown> = {}
  if (input.name !== undefined) {
    const name = input.name.trim()
    if (!name || name.length > 80)
      throw new InvalidInputException('name', 'Enter a name of at most 80 characters.')
    changes.name = audit.name = name
  }
  if (input.baseUrl !== undefined)
    changes.base_url = audit.base_url = checkBaseUrl(provider.kind, input.baseUrl)
  if (input.settings !== undefined)
    changes.settings = JSON.stringify((audit.settings = await validateSettings(input.settings)))
  if (input.apiKey) {
    const apiKey = checkApiKey(input.apiKey.trim())
    changes.api_key_encrypted = sealApiKey(apiKey)
    changes.api_key_last4 = apiKey.slice(-4)
    audit.api_key = 'replaced'
  } else if (input.removeApiKey) {
    changes.api_key_encrypted = null
    changes.api_key_last4 = null
    audit.api_key = 'removed'
  }
  const row = await db.transaction(async (trx) => {
    const query = trx.from('providers').where('id', provider.id)
    if (provider.tenant_id) query.where('tenant_id', provider.tenant_id)
    else query.whereNull('tenant_id')
    const [updated] = await query.update(changes).returning(PUBLIC_COLUMNS)
    await recordAudit(
      {
        action: 'agents.provider.updated',
        actorId: input.actorId,
        tenantId: provider.tenant_id,
        subjectType: 'provider',
        subjectId: provider.id,
        changes: audit,
      },
      trx
    )
    return updated as ProviderRow
  })
  await invalidateCatalog(provider.tenant_id)
  return row
}

/** Deletes a provider and its models. Runs keep their recorded model names and prices. */
export async function deleteProvider(provider: ProviderRow, actorId: string | null) {
  await db.transaction(async (trx) => {
    await trx.from('providers').where('id', provider.id).delete()
    await recordAudit(
      {
        action: 'agents.provider.deleted',
        actorId,
        tenantId: provider.tenant_id,
        subjectType: 'provider',
        subjectId: provider.id,
        changes: { slug: provider.slug },
      },
      trx
    )
  })
  await invalidateCatalog(provider.tenant_id)
}

export type ModelRow = {
  id: string
  name: string
  upstream_model: string | null
  context_window: number
  input_price_micros: string
  output_price_micros: string
}

/** A provider's models with the price in force now (micro-credits per 1M tokens). */
export async function listModels(
  provider: ProviderRow
): Promise<(ModelRow & { prices: PriceRow[] })[]> {
  const models = (await db
    .from('models')
    .where('provider_id', provider.id)
    .orderBy('name')
    .select(
      'id',
      'name',
      'upstream_model',
      'context_window',
      'input_price_micros',
      'output_price_micros'
    )) as ModelRow[]
  if (models.length === 0) return []
  const prices = (await db
    .from('model_prices')
    .whereIn(
      'model_id',
      models.map((m) => m.id)
    )
    .orderBy('effective_from', 'desc')
    .select(
      'id',
      'model_id',
      'input_price_micros',
      'output_price_micros',
      'effective_from'
    )) as (PriceRow & { model_id: string })[]
  return models.map((model) => ({
    ...model,
    prices: prices.filter((p) => p.model_id === model.id),
  }))
}

export type PriceRow = {
  id: string
  input_price_micros: string
  output_price_micros: string
  effective_from: Date
}

/**
 * Adds a model to a provider with its first price (in force from now). Platform models need a
 * platform provider; a tenant's models live in the tenant's catalog only.
 */
export async function addModel(
  provider: ProviderRow,
  input: {
    actorId: string | null
    name: string
    upstreamModel?: string | null
    contextWindow: number
    inputPriceMicros: bigint
    outputPriceMicros: bigint
  }
) {
  const name = input.name.trim()
  if (!MODEL_NAME.test(name))
    throw new InvalidInputException(
      'name',
      'Use letters, digits and . _ : / @ - (at most 200 characters).'
    )
  const upstream = input.upstreamModel?.trim() || null
  if (upstream && upstream.length > 200)
    throw new InvalidInputException('upstream_model', 'At most 200 characters.')
  if (
    !Number.isInteger(input.contextWindow) ||
    input.contextWindow < 1 ||
    input.contextWindow > 100_000_000
  )
    throw new InvalidInputException('context_window', 'Enter a whole number of tokens.')
  checkPrices(input.inputPriceMicros, input.outputPriceMicros)
  try {
    const model = await db.transaction(async (trx) => {
      const [created] = await trx
        .table('models')
        .insert({
          provider_id: provider.id,
          tenant_id: provider.tenant_id,
          name,
          upstream_model: upstream,
          context_window: input.contextWindow,
          input_price_micros: input.inputPriceMicros.toString(),
          output_price_micros: input.outputPriceMicros.toString(),
        })
        .returning(['id', 'name', 'created_at'])
      await trx.table('model_prices').insert({
        model_id: created.id,
        input_price_micros: input.inputPriceMicros.toString(),
        output_price_micros: input.outputPriceMicros.toString(),
        effective_from: created.created_at,
        created_by: input.actorId,
      })
      await recordAudit(
        {
          action: 'agents.model.created',
          actorId: input.actorId,
          tenantId: provider.tenant_id,
          subjectType: 'model',
          subjectId: created.id,
          changes: {
            name,
            provider: provider.slug,
            input_price_micros: input.inputPriceMicros.toString(),
            output_price_micros: input.outputPriceMicros.toString(),
          },
        },
        trx
      )
      return created as { id: string; name: string }
    })
    await invalidateCatalog(provider.tenant_id)
    return model
  } catch (error: any) {
    if (error?.code === '23505')
      throw new InvalidInputException(
        'name',
        'A model with this name already exists in this catalog.'
      )
    throw error
  }
}

/** The model of a provider, by id or name, or null. */
export async function findModel(provider: ProviderRow, idOrName: string): Promise<ModelRow | null> {
  const query = db
    .from('models')
    .where('provider_id', provider.id)
    .select(
      'id',
      'name',
      'upstream_model',
      'context_window',
      'input_price_micros',
      'output_price_micros'
    )
  if (isUuid(idOrName)) query.where('id', idOrName)
  else query.where('name', idOrName)
  return ((await query.first()) as ModelRow | null) ?? null
}

export async function deleteModel(provider: ProviderRow, model: ModelRow, actorId: string | null) {
  await db.transaction(async (trx) => {
    await trx.from('models').where('id', model.id).where('provider_id', provider.id).delete()
    await recordAudit(
      {
        action: 'agents.model.deleted',
        actorId,
        tenantId: provider.tenant_id,
        subjectType: 'model',
        subjectId: model.id,
        changes: { name: model.name },
      },
      trx
    )
  })
  await invalidateCatalog(provider.tenant_id)
}

function checkPrices(input: bigint, output: bigint) {
  if (input < 0n) throw new InvalidInputException('input_price', 'A price cannot be negative.')
  if (output < 0n) throw new InvalidInputException('output_price', 'A price cannot be negative.')
  // 1M credits per 1M tokens is far beyond any real price: most likely a typo.
  if (input > 1_000_000_000_000n)
    throw new InvalidInputException('input_price', 'That price is implausibly high.')
  if (output > 1_000_000_000_000n)
    throw new InvalidInputException('output_price', 'That price is implausibly high.')
}

/**
 * Adds a price to the book: in force from `effectiveFrom` (default now; never in the past, so
 * history is never rewritten). Runs started earlier keep the price they started with.
 */
export async function setModelPrice(
  provider: ProviderRow,
  model: ModelRow,
  input: {
    actorId: string | null
    inputPriceMicros: bigint
    outputPriceMicros: bigint
    effectiveFrom?: Date | null
  }
) {
  checkPrices(input.inputPriceMicros, input.outputPriceMicros)
  const now = new Date()
  const effectiveFrom = input.effectiveFrom ?? now
  if (Number.isNaN(effectiveFrom.getTime()))
    throw new InvalidInputException('effective_from', 'Enter a date and time.')
  if (effectiveFrom.getUTCFullYear() > MAX_YEAR)
    throw new InvalidInputException(
      'effective_from',
      `Enter a date before the year ${MAX_YEAR + 1}.`
    )
  if (effectiveFrom.getTime() < now.getTime() - 60_000)
    throw new InvalidInputException(
      'effective_from',
      'A price cannot start in the past: history is never rewritten.'
    )
  try {
    const row = await db.transaction(async (trx) => {
      const [created] = await trx
        .table('model_prices')
        .insert({
          model_id: model.id,
          input_price_micros: input.inputPriceMicros.toString(),
          output_price_micros: input.outputPriceMicros.toString(),
          effective_from: effectiveFrom,
          created_by: input.actorId,
        })
        .returning(['id', 'effective_from'])
      // The models row mirrors the current list price for readers of that table.
      if (effectiveFrom.getTime() <= now.getTime()) {
        await trx.from('models').where('id', model.id).update({
          input_price_micros: input.inputPriceMicros.toString(),
          output_price_micros: input.outputPriceMicros.toString(),
          updated_at: now,
        })
      }
      await recordAudit(
        {
          action: 'agents.model.priced',
          actorId: input.actorId,
          tenantId: provider.tenant_id,
          subjectType: 'model',
          subjectId: model.id,
          changes: {
            name: model.name,
            input_price_micros: input.inputPriceMicros.toString(),
            output_price_micros: input.outputPriceMicros.toString(),
            effective_from: effectiveFrom.toISOString(),
          },
        },
        trx
      )
      return created as { id: string; effective_from: Date }
    })
    await invalidateCatalog(provider.tenant_id)
    return row
  } catch (error: any) {
    if (error?.code === '23505')
      throw new InvalidInputException('effective_from', 'A price already starts at that moment.')
    throw error
  }
}
