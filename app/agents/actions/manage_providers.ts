import vine from '@vinejs/vine'
import db from '@adonisjs/lucid/services/db'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import { withTenant } from '#tenants'
import { findUnsafeInput, InvalidInputException, isUuid, MAX_YEAR } from '#core'
import { recordAudit } from '#platform'
import { invalidateCatalog, type ModelKind, type ProviderKind } from '#agents/services/catalog'
import {
  modelValidator,
  platformProviderValidator,
  providerChangesValidator,
  tenantProviderValidator,
} from '#agents/validators/providers'
import { sealApiKey, sealHeaderValue } from '#agents/providers/registry'
import type { ProviderSettings, StoredProviderSettings } from '#agents/providers/types'

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

/**
 * How pages show a stored header value; sent back unchanged in the settings JSON, it keeps the
 * stored value (like an empty API key field). Not a valid header character, so never a value.
 */
export const HEADER_MASK = '••••••••'

/**
 * A provider row as the pages and commands show it: never the key, only its last four
 * characters; header names with HEADER_MASK for their values.
 */
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

const MODEL_COLUMNS = [
  'id',
  'name',
  'upstream_model',
  'context_window',
  'kind',
  'input_price_micros',
  'output_price_micros',
]

/** A provider's columns that may leave the database (never the key or header values). */
export const PUBLIC_COLUMNS = [
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

function parsed(settings: unknown): StoredProviderSettings {
  return ((typeof settings === 'string' ? JSON.parse(settings) : settings) ??
    {}) as StoredProviderSettings
}

/** Stored settings as shown: header values masked. */
function shownSettings(stored: StoredProviderSettings): ProviderSettings {
  const { sealed_headers: sealed, headers: legacy, ...settings } = stored
  const names = [...Object.keys(legacy ?? {}), ...Object.keys(sealed ?? {})]
  if (names.length === 0) return settings
  return { ...settings, headers: Object.fromEntries(names.map((name) => [name, HEADER_MASK])) }
}

function shown(row: any): ProviderRow {
  return { ...row, settings: shownSettings(parsed(row.settings)) }
}

/**
 * Validated settings as stored: each header value sealed; HEADER_MASK keeps the value stored
 * under that name in `previous`.
 */
function sealedSettings(
  settings: ProviderSettings,
  previous: StoredProviderSettings | null
): StoredProviderSettings {
  const { headers, ...rest } = settings
  if (!headers || Object.keys(headers).length === 0) return rest
  const sealed: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== HEADER_MASK) sealed[name] = sealHeaderValue(value)
    else if (previous?.sealed_headers?.[name]) sealed[name] = previous.sealed_headers[name]
    else if (typeof previous?.headers?.[name] === 'string')
      sealed[name] = sealHeaderValue(previous.headers[name])
    else
      throw new InvalidInputException(
        'settings',
        `headers.${name}: enter its value (${HEADER_MASK} only keeps a value already saved).`
      )
  }
  return { ...rest, sealed_headers: sealed }
}

/** Settings as the audit trail records them: header names, never their values. */
function auditedSettings(settings: ProviderSettings) {
  const { headers, ...rest } = settings
  return headers ? { ...rest, headers: Object.keys(headers) } : rest
}

/** A workspace's provider rows are written bound to it (row-level security); platform rows not. */
function providerTransaction<T>(
  tenantId: string | null,
  fn: (trx: TransactionClientContract) => Promise<T>
) {
  return tenantId ? withTenant(tenantId, fn) : db.transaction(fn)
}

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
  const [invalid, valid] = await settingsValidator.tryValidate(value)
  if (invalid) {
    const first = (invalid.messages as { field: string; message: string }[])[0]
    throw new InvalidInputException('settings', `${first.field}: ${first.message}`)
  }
  const settings = valid as ProviderSettings
  for (const name of Object.keys(settings.headers ?? {})) {
    if (!HEADER_NAME.test(name) || RESERVED_HEADERS.has(name.toLowerCase()))
      throw new InvalidInputException('settings', `Header "${name}" cannot be set.`)
  }
  return settings
}

/** An OpenAI-compatible provider has no default address. */
function requireBaseUrl(kind: string, baseUrl: string | null | undefined) {
  if (!baseUrl && kind === 'openai_compatible')
    throw new InvalidInputException(
      'base_url',
      'An OpenAI-compatible provider needs its base URL, e.g. https://api.openai.com/v1.'
    )
  return baseUrl ?? null
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
  const row = await query.first()
  return row ? shown(row) : null
}

/** The providers of a scope, by slug. */
export async function listProviders(tenantId: string | null): Promise<ProviderRow[]> {
  const query = db.from('providers').select(PUBLIC_COLUMNS).orderBy('slug')
  if (tenantId) query.where('tenant_id', tenantId)
  else query.whereNull('tenant_id')
  return (await query).map(shown)
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
  const validator = input.tenantId ? tenantProviderValidator : platformProviderValidator
  const { slug, name, kind, ...valid } = await validator.validate({
    slug: input.slug,
    name: input.name,
    kind: input.kind,
    base_url: input.baseUrl ?? null,
    api_key: input.apiKey ?? null,
  })
  const baseUrl = requireBaseUrl(kind, valid.base_url)
  const settings = await validateSettings(input.settings)
  const apiKey = valid.api_key || null
  try {
    const row = await providerTransaction(input.tenantId ?? null, async (trx) => {
      const [created] = await trx
        .table('providers')
        .insert({
          tenant_id: input.tenantId,
          slug,
          name,
          kind,
          base_url: baseUrl,
          api_key_encrypted: apiKey ? sealApiKey(apiKey) : null,
          api_key_last4: apiKey ? apiKey.slice(-4) : null,
          settings: JSON.stringify(sealedSettings(settings, null)),
        })
        .returning(PUBLIC_COLUMNS)
      await recordAudit(
        {
          action: 'agents.provider.created',
          actorId: input.actorId,
          tenantId: input.tenantId,
          subjectType: 'provider',
          subjectId: created.id,
          changes: {
            slug,
            kind,
            base_url: baseUrl,
            api_key: apiKey ? 'set' : 'none',
            settings: auditedSettings(settings),
          },
        },
        trx
      )
      return shown(created)
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
  const valid = await providerChangesValidator.validate({
    name: input.name,
    base_url: input.baseUrl,
    api_key: input.apiKey || null,
  })
  if (valid.name !== undefined) changes.name = audit.name = valid.name
  if (input.baseUrl !== undefined)
    changes.base_url = audit.base_url = requireBaseUrl(provider.kind, valid.base_url)
  const settings = input.settings === undefined ? undefined : await validateSettings(input.settings)
  if (settings) audit.settings = auditedSettings(settings)
  if (valid.api_key) {
    changes.api_key_encrypted = sealApiKey(valid.api_key)
    changes.api_key_last4 = valid.api_key.slice(-4)
    audit.api_key = 'replaced'
  } else if (input.removeApiKey) {
    changes.api_key_encrypted = null
    changes.api_key_last4 = null
    audit.api_key = 'removed'
  }
  const row = await providerTransaction(provider.tenant_id, async (trx) => {
    const scoped = () => {
      const query = trx.from('providers').where('id', provider.id)
      if (provider.tenant_id) query.where('tenant_id', provider.tenant_id)
      else query.whereNull('tenant_id')
      return query
    }
    if (settings) {
      // Masked header values keep what is stored now (locked: a concurrent edit cannot slip in).
      const current = await scoped().select('settings').forUpdate().first()
      changes.settings = JSON.stringify(
        sealedSettings(settings, current && parsed(current.settings))
      )
    }
    const [updated] = await scoped().update(changes).returning(PUBLIC_COLUMNS)
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
    return updated ? shown(updated) : (updated as ProviderRow)
  })
  await invalidateCatalog(provider.tenant_id)
  return row
}

/** Deletes a provider and its models. Runs keep their recorded model names and prices. */
export async function deleteProvider(provider: ProviderRow, actorId: string | null) {
  await providerTransaction(provider.tenant_id, async (trx) => {
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
  kind: ModelKind
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
    .select(MODEL_COLUMNS)) as ModelRow[]
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
    /** Default chat; embedding models need a provider that offers /embeddings. */
    kind?: ModelKind
    inputPriceMicros: bigint
    outputPriceMicros: bigint
  }
) {
  const kind = input.kind ?? 'chat'
  if (kind !== 'chat' && kind !== 'embedding')
    throw new InvalidInputException('kind', 'Choose chat or embedding.')
  if (kind === 'embedding' && provider.kind === 'anthropic')
    throw new InvalidInputException('kind', 'Anthropic offers no embeddings API.')
  const { name, upstream_model: upstream = null } = await modelValidator.validate({
    name: input.name,
    upstream_model: input.upstreamModel?.trim() || null,
    context_window: input.contextWindow,
  })
  checkPrices(input.inputPriceMicros, input.outputPriceMicros)
  try {
    const model = await providerTransaction(provider.tenant_id, async (trx) => {
      const [created] = await trx
        .table('models')
        .insert({
          provider_id: provider.id,
          tenant_id: provider.tenant_id,
          name,
          upstream_model: upstream,
          context_window: input.contextWindow,
          kind,
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
            kind,
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
  const query = db.from('models').where('provider_id', provider.id).select(MODEL_COLUMNS)
  if (isUuid(idOrName)) query.where('id', idOrName)
  else query.where('name', idOrName)
  return ((await query.first()) as ModelRow | null) ?? null
}

export async function deleteModel(provider: ProviderRow, model: ModelRow, actorId: string | null) {
  await providerTransaction(provider.tenant_id, async (trx) => {
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
    const row = await providerTransaction(provider.tenant_id, async (trx) => {
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
