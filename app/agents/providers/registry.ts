import encryption from '@adonisjs/core/services/encryption'
import type { CatalogModel, ProviderRef } from '#agents/services/catalog'
import { SimulatorProvider } from '#agents/providers/simulator'
import { OpenAiCompatibleProvider } from '#agents/providers/openai_compatible'
import { AnthropicProvider } from '#agents/providers/anthropic'
import {
  ProviderError,
  type ProviderAdapter,
  type StoredProviderSettings,
} from '#agents/providers/types'

const simulator = new SimulatorProvider()

/** Encryption purpose of provider keys: a ciphertext made for anything else never decrypts as one. */
const KEY_PURPOSE = 'provider-api-key'

/** An API key as stored at rest (AES-256-GCM with the app key). */
export function sealApiKey(apiKey: string) {
  return encryption.encrypt(apiKey, { purpose: KEY_PURPOSE })
}

/** Encryption purpose of provider header values (often keys too: org ids, gateway tokens). */
const HEADER_PURPOSE = 'provider-header'

/** A header value as stored at rest, sealed like an API key. */
export function sealHeaderValue(value: string) {
  return encryption.encrypt(value, { purpose: HEADER_PURPOSE })
}

/** The headers to send, decrypted; or the name of the first one that cannot be decrypted. */
function openHeaders(
  settings: StoredProviderSettings
): { headers: Record<string, string> } | { broken: string } {
  // Plaintext `headers` only from rows written before the encryption (rolling deploy).
  const headers: Record<string, string> = { ...settings.headers }
  for (const [name, sealed] of Object.entries(settings.sealed_headers ?? {})) {
    const value = encryption.decrypt<string>(sealed, HEADER_PURPOSE)
    if (typeof value !== 'string') return { broken: name }
    headers[name] = value
  }
  return { headers }
}

/** One adapter per provider row version: the key is decrypted once, not per run. */
const adapters = new Map<string, { version: string; adapter: ProviderAdapter }>()

/** The adapter for a provider (or a catalog model's provider). */
export function adapterFor(provider: ProviderRef): ProviderAdapter {
  if (provider.kind === 'simulator') return simulator
  const cached = adapters.get(provider.id)
  if (cached?.version === provider.version) return cached.adapter
  const apiKey = provider.apiKeyEncrypted
    ? encryption.decrypt<string>(provider.apiKeyEncrypted, KEY_PURPOSE)
    : null
  if (provider.apiKeyEncrypted && !apiKey) {
    // Encrypted with another APP_KEY: unusable until the key is entered again.
    return failing(
      new ProviderError(
        `The API key of provider "${provider.slug}" cannot be decrypted; enter it again.`,
        401,
        false
      )
    )
  }
  const opened = openHeaders(provider.settings)
  if ('broken' in opened)
    return failing(
      new ProviderError(
        `The value of header "${opened.broken}" of provider "${provider.slug}" cannot be decrypted; enter it again.`,
        401,
        false
      )
    )
  const { sealed_headers: _sealed, headers: _legacy, ...settings } = provider.settings
  const connection = {
    baseUrl: provider.baseUrl ?? '',
    apiKey,
    settings: Object.keys(opened.headers).length
      ? { ...settings, headers: opened.headers }
      : settings,
    publicOnly: provider.tenantId !== null,
  }
  let adapter: ProviderAdapter
  if (provider.kind === 'openai_compatible') {
    if (!provider.baseUrl)
      return failing(new ProviderError(`Provider "${provider.slug}" has no base URL.`, 400, false))
    adapter = new OpenAiCompatibleProvider(connection)
  } else if (provider.kind === 'anthropic') {
    adapter = new AnthropicProvider(connection)
  } else {
    return failing(
      new ProviderError(`Provider kind "${provider.kind}" is not supported.`, 501, false)
    )
  }
  adapters.set(provider.id, { version: provider.version, adapter })
  return adapter
}

/** The adapter for a catalog model's provider. */
export function providerFor(model: CatalogModel): ProviderAdapter {
  return adapterFor(model.provider)
}

function failing(error: ProviderError): ProviderAdapter {
  return {
    async *stream() {
      throw error
    },
  }
}
