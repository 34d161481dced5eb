import { args, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { OperatorCommand, parseCredits } from '#core'

/*
 * Platform-admin commands for providers, models and the price book. Without --tenant they act
 * on platform-wide rows (every workspace sees them); with --tenant=<slug>, on that workspace's.
 */

async function scopeOf(
  command: OperatorCommand & { tenant?: string }
): Promise<{ tenantId: string | null } | null> {
  if (!command.tenant) return { tenantId: null }
  const { Tenant } = await import('#tenants')
  const tenant = await Tenant.findBy('slug', command.tenant)
  return tenant ? { tenantId: tenant.id } : null
}

function price(value: string | undefined, name: string): bigint | string {
  if (value === undefined) return 0n
  const micros = parseCredits(value)
  return micros === null || micros < 0n
    ? `--${name} must be credits per 1M tokens, e.g. 0.15`
    : micros
}

/**
 * provider:create <slug> --kind= [--base-url=] [--api-key= | PROVIDER_API_KEY] [--settings=<json>]
 * [--tenant=] → the provider id.
 */
export class ProviderCreate extends OperatorCommand {
  static commandName = 'provider:create'
  static description =
    "Add a model provider (platform-wide, or a tenant's with --tenant); prints its id"
  static options: CommandOptions = { startApp: true }

  @args.string({ description: 'Provider slug' })
  declare slug: string

  @flags.string({ description: 'openai_compatible | anthropic', required: true })
  declare kind: string

  @flags.string({ description: 'Display name (default: the slug)' })
  declare name?: string

  @flags.string({ description: 'Base URL, e.g. https://api.openai.com/v1' })
  declare baseUrl?: string

  @flags.string({
    description:
      'API key (prefer the PROVIDER_API_KEY environment variable: it stays out of shell history)',
  })
  declare apiKey?: string

  @flags.string({
    description: 'Settings as JSON (timeouts, retries, breaker, api_version, headers)',
  })
  declare settings?: string

  @flags.string({ description: 'Tenant slug (default: platform-wide)' })
  declare tenant?: string

  async run() {
    const scope = await scopeOf(this)
    if (!scope) return this.fail(`no tenant with slug "${this.tenant}"`)
    const { createProvider } = await import('#agents/actions/manage_providers')
    const provider = await createProvider({
      tenantId: scope.tenantId,
      actorId: null,
      slug: this.slug,
      name: this.name ?? this.slug,
      kind: this.kind,
      baseUrl: this.baseUrl ?? null,
      apiKey: this.apiKey ?? process.env.PROVIDER_API_KEY ?? null,
      settings: this.settings,
    })
    this.notice(
      `provider ${provider.slug} (${provider.kind}) added` +
        (provider.api_key_last4 ? `, key ••••${provider.api_key_last4}` : '')
    )
    this.output(provider.id)
  }
}

/**
 * provider:model <provider-slug> <name> [--upstream=] [--context-window=] [--embedding]
 * [--input-price=] [--output-price=] [--tenant=] → the model id.
 */
export class ProviderModel extends OperatorCommand {
  static commandName = 'provider:model'
  static description =
    'Add a model to a provider with its first price (credits per 1M tokens); prints its id'
  static options: CommandOptions = { startApp: true }

  @args.string({ description: 'Provider slug' })
  declare provider: string

  @args.string({ description: 'Catalog name agents use, e.g. openai/gpt-4o-mini' })
  declare name: string

  @flags.string({ description: 'The model id sent to the provider (default: the name)' })
  declare upstream?: string

  @flags.number({ description: 'Context window in tokens', default: 128000 })
  declare contextWindow: number

  @flags.boolean({ description: 'An embedding model (for knowledge), not a chat model' })
  declare embedding?: boolean

  @flags.string({ description: 'Input price, credits per 1M tokens', default: '0' })
  declare inputPrice: string

  @flags.string({ description: 'Output price, credits per 1M tokens', default: '0' })
  declare outputPrice: string

  @flags.string({ description: 'Tenant slug (default: platform-wide)' })
  declare tenant?: string

  async run() {
    const scope = await scopeOf(this)
    if (!scope) return this.fail(`no tenant with slug "${this.tenant}"`)
    const prices = pricePair(this.inputPrice, this.outputPrice)
    if (typeof prices === 'string') return this.fail(prices)
    const [input, output] = prices
    const { addModel, findProvider } = await import('#agents/actions/manage_providers')
    const provider = await findProvider(scope.tenantId, this.provider)
    if (!provider)
      return this.fail(
        `no provider "${this.provider}"${this.tenant ? ` in ${this.tenant}` : ' (platform-wide)'}`
      )
    const model = await addModel(provider, {
      actorId: null,
      name: this.name,
      upstreamModel: this.upstream ?? null,
      contextWindow: this.contextWindow,
      kind: this.embedding ? 'embedding' : 'chat',
      inputPriceMicros: input,
      outputPriceMicros: output,
    })
    this.notice(`model ${model.name} added to ${provider.slug}`)
    this.output(model.id)
  }
}

/**
 * model:price <provider-slug> <model-name> --input-price= --output-price= [--effective-from=<ISO>]
 * [--tenant=] → the price id.
 */
export class ModelPrice extends OperatorCommand {
  static commandName = 'model:price'
  static description =
    'Add a price to the price book of a model (from now or a future date); prints its id'
  static options: CommandOptions = { startApp: true }

  @args.string({ description: 'Provider slug' })
  declare provider: string

  @args.string({ description: 'Model name' })
  declare model: string

  @flags.string({ description: 'Input price, credits per 1M tokens', required: true })
  declare inputPrice: string

  @flags.string({ description: 'Output price, credits per 1M tokens', required: true })
  declare outputPrice: string

  @flags.string({ description: 'When it takes effect (ISO 8601; default now; never in the past)' })
  declare effectiveFrom?: string

  @flags.string({ description: 'Tenant slug (default: platform-wide)' })
  declare tenant?: string

  async run() {
    const scope = await scopeOf(this)
    if (!scope) return this.fail(`no tenant with slug "${this.tenant}"`)
    const prices = pricePair(this.inputPrice, this.outputPrice)
    if (typeof prices === 'string') return this.fail(prices)
    const [input, output] = prices
    const { findModel, findProvider, setModelPrice } =
      await import('#agents/actions/manage_providers')
    const provider = await findProvider(scope.tenantId, this.provider)
    if (!provider) return this.fail(`no provider "${this.provider}"`)
    const model = await findModel(provider, this.model)
    if (!model) return this.fail(`no model "${this.model}" at ${provider.slug}`)
    const row = await setModelPrice(provider, model, {
      actorId: null,
      inputPriceMicros: input,
      outputPriceMicros: output,
      effectiveFrom: this.effectiveFrom ? new Date(this.effectiveFrom) : null,
    })
    this.notice(
      `price of ${model.name} from ${new Date(row.effective_from).toISOString()}: ` +
        `${this.inputPrice} in / ${this.outputPrice} out per 1M tokens`
    )
    this.output(row.id)
  }
}

/** provider:test <provider-slug> [--model=] [--tenant=] → `ok <ms>` (exit 1 with the reason otherwise). */
export class ProviderTest extends OperatorCommand {
  static commandName = 'provider:test'
  static description = 'Test a provider connection with a one-token request'
  static options: CommandOptions = { startApp: true }

  @args.string({ description: 'Provider slug' })
  declare provider: string

  @flags.string({ description: "Model name (default: the provider's first model)" })
  declare model?: string

  @flags.string({ description: 'Tenant slug (default: platform-wide)' })
  declare tenant?: string

  async run() {
    const scope = await scopeOf(this)
    if (!scope) return this.fail(`no tenant with slug "${this.tenant}"`)
    const { findProvider } = await import('#agents/actions/manage_providers')
    const { testProviderConnection } = await import('#agents/services/connection_test')
    const provider = await findProvider(scope.tenantId, this.provider)
    if (!provider) return this.fail(`no provider "${this.provider}"`)
    const result = await testProviderConnection(provider.id, scope.tenantId, this.model ?? null)
    if (!result.ok) return this.fail(result.message)
    this.notice(result.message)
    this.output(`ok ${result.latencyMs}`)
  }
}

/** Both prices (credits per 1M tokens) as micro-credits, or the first reason one is refused. */
function pricePair(inputPrice: string, outputPrice: string): [bigint, bigint] | string {
  const input = price(inputPrice, 'input-price')
  if (typeof input === 'string') return input
  const output = price(outputPrice, 'output-price')
  if (typeof output === 'string') return output
  return [input, output]
}
