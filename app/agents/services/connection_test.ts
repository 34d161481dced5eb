import db from '@adonisjs/lucid/services/db'
import { adapterFor } from '#agents/providers/registry'
import { ProviderError } from '#agents/providers/types'
import type { ProviderKind, ProviderRef } from '#agents/services/catalog'

export type ConnectionTestResult = {
  ok: boolean
  model: string | null
  latencyMs: number
  message: string
}

const TIMEOUT_MS = 15_000

/**
 * "Test connection": one tiny completion (max 1 token, "ping") against a model of the provider,
 * with short timeouts and no retries. Not billed and not recorded as a run; it proves the URL,
 * the key and the model name work together.
 */
export async function testProviderConnection(
  providerId: string,
  tenantId: string | null,
  modelName?: string | null
): Promise<ConnectionTestResult> {
  const query = db.from('providers').where('id', providerId)
  if (tenantId) query.where('tenant_id', tenantId)
  else query.whereNull('tenant_id')
  const provider = await query.first()
  if (!provider) return { ok: false, model: null, latencyMs: 0, message: 'No such provider.' }
  const models = db
    .from('models')
    .where('provider_id', provider.id)
    .orderBy('name')
    .select('name', 'upstream_model')
  if (modelName) models.where('name', modelName)
  const model = await models.first()
  if (!model)
    return {
      ok: false,
      model: null,
      latencyMs: 0,
      message: modelName
        ? `The provider has no model "${modelName}".`
        : 'Add a model to this provider first: the test asks it for one token.',
    }

  const settings =
    typeof provider.settings === 'string'
      ? JSON.parse(provider.settings)
      : (provider.settings ?? {})
  const ref: ProviderRef = {
    id: provider.id,
    kind: provider.kind as ProviderKind,
    slug: provider.slug,
    tenantId: provider.tenant_id,
    baseUrl: provider.base_url,
    apiKeyEncrypted: provider.api_key_encrypted,
    settings,
    version: `${provider.id}:${new Date(provider.updated_at).getTime()}`,
  }
  const controller = new AbortController()
  const limit = Math.min(TIMEOUT_MS, settings.total_timeout_ms ?? TIMEOUT_MS)
  const timer = setTimeout(() => controller.abort(new Error('timeout')), limit)
  const started = performance.now()
  let text = ''
  try {
    for await (const chunk of adapterFor(ref).stream({
      model: model.upstream_model ?? model.name,
      messages: [{ role: 'user', content: 'ping' }],
      maxTokens: 1,
      signal: controller.signal,
      connectTimeoutMs: Math.min(5000, settings.connect_timeout_ms ?? 5000),
    })) {
      if (chunk.type === 'delta') text += chunk.text
    }
    const latencyMs = Math.round(performance.now() - started)
    return {
      ok: true,
      model: model.name,
      latencyMs,
      message: `Connected: ${model.name} answered in ${latencyMs} ms${text ? ` ("${text.slice(0, 40)}")` : ''}.`,
    }
  } catch (error) {
    const latencyMs = Math.round(performance.now() - started)
    if (controller.signal.aborted)
      return { ok: false, model: model.name, latencyMs, message: `No answer within ${limit} ms.` }
    const message =
      error instanceof ProviderError
        ? error.message
        : `Unexpected error: ${(error as Error)?.message ?? error}`
    return { ok: false, model: model.name, latencyMs, message }
  } finally {
    clearTimeout(timer)
  }
}
