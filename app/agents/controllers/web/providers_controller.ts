import type { HttpContext } from '@adonisjs/core/http'
import {
  formatCredits,
  InvalidInputException,
  isHtmx,
  isUuid,
  NotFoundException,
  onRefusal,
  parseCredits,
  type Refusal,
  urlFor,
} from '#core'
import { assertWritable, authorize, currentTenant } from '#tenants'
import {
  addModel,
  createProvider,
  deleteModel,
  deleteProvider,
  findModel,
  findProvider,
  listModels,
  listProviders,
  setModelPrice,
  updateProvider,
  type ProviderRow,
} from '#agents/actions/manage_providers'
import { PROVIDER_KINDS } from '#agents/validators/providers'
import { catalog, type ModelKind } from '#agents/services/catalog'
import { testProviderConnection, type ConnectionTestResult } from '#agents/services/connection_test'
import { redirectTo } from '#agents/controllers/web/helpers'

/** Which form on the page failed, its typed values (never the API key) and its field errors. */
type FormState = { form: string; values: Record<string, string>; errors: Record<string, string[]> }

const KIND_LABELS: Record<string, string> = {
  openai_compatible: 'OpenAI-compatible (OpenAI, Azure, Ollama, vLLM, llama.cpp, OpenRouter…)',
  anthropic: 'Anthropic',
  simulator: 'Simulator',
}

function text(value: unknown) {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : ''
}

/** A price typed in credits per 1M tokens, as micro-credits per 1M tokens. */
function priceField(value: unknown, field: string) {
  const raw = text(value).trim()
  if (raw === '') return 0n
  const micros = parseCredits(raw)
  if (micros === null || micros < 0n)
    throw new InvalidInputException(
      field,
      'Enter credits per 1M tokens, e.g. 0.15 (up to 6 decimals).'
    )
  return micros
}

/**
 * /t/:tenant/providers — the workspace's own model providers (bring your own key): add, edit,
 * delete, models with prices (a price book with effective dates) and "test connection". Owners
 * and admins only (tenant.update). API keys are write-only: pages show the last four characters.
 */
export default class ProvidersController {
  async index(ctx: HttpContext) {
    authorize(ctx, 'tenant.update')
    return this.#renderIndex(ctx, null)
  }

  async store(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'tenant.update')
    assertWritable(ctx)
    const body = ctx.request.all()
    const values = {
      slug: text(body.slug),
      name: text(body.name),
      kind: text(body.kind),
      base_url: text(body.base_url),
      settings: text(body.settings),
    }
    onRefusal(ctx, {
      render: ({ fieldErrors }) =>
        this.#renderIndex(ctx, { form: 'provider', values, errors: fieldErrors }),
    })
    const provider = await createProvider({
      tenantId: tenant.id,
      actorId: membership.userId,
      slug: text(body.slug),
      name: text(body.name) || text(body.slug),
      kind: text(body.kind),
      baseUrl: text(body.base_url).trim() || null,
      apiKey: text(body.api_key) || null,
      settings: text(body.settings).trim() || undefined,
    })
    ctx.session.flash(
      'success',
      `Provider "${provider.name}" added. Add its models, then test the connection.`
    )
    return redirectTo(
      ctx,
      urlFor('agents.web.providers.show', { tenant: tenant.slug, id: provider.id })
    )
  }

  async show(ctx: HttpContext) {
    authorize(ctx, 'tenant.update')
    return this.#renderShow(ctx, await this.#provider(ctx), {})
  }

  async update(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    const provider = await this.#providerForWrite(ctx)
    const body = ctx.request.all()
    onRefusal(ctx, {
      render: (refusal) =>
        this.#showWithRefusedForm(
          ctx,
          provider,
          'provider',
          { name: text(body.name), base_url: text(body.base_url), settings: text(body.settings) },
          refusal
        ),
    })
    await updateProvider(provider, {
      actorId: membership.userId,
      name: text(body.name),
      baseUrl: text(body.base_url).trim() || null,
      apiKey: text(body.api_key) || null,
      removeApiKey: text(body.remove_api_key) === 'on' || text(body.remove_api_key) === 'true',
      settings: text(body.settings).trim() || {},
    })
    ctx.session.flash('success', 'Provider saved.')
    return redirectTo(
      ctx,
      urlFor('agents.web.providers.show', { tenant: tenant.slug, id: provider.id })
    )
  }

  async destroy(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    const provider = await this.#providerForWrite(ctx)
    await deleteProvider(provider, membership.userId)
    ctx.session.flash(
      'success',
      `Provider "${provider.name}" and its models deleted. Agents using them need another model.`
    )
    return redirectTo(ctx, urlFor('agents.web.providers.index', { tenant: tenant.slug }))
  }

  async storeModel(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    const provider = await this.#providerForWrite(ctx)
    const body = ctx.request.all()
    onRefusal(ctx, {
      render: (refusal) =>
        this.#showWithRefusedForm(
          ctx,
          provider,
          'model',
          {
            name: text(body.name),
            upstream_model: text(body.upstream_model),
            context_window: text(body.context_window),
            kind: text(body.kind),
            input_price: text(body.input_price),
            output_price: text(body.output_price),
          },
          refusal
        ),
    })
    const contextWindow = Number(text(body.context_window) || '128000')
    const model = await addModel(provider, {
      actorId: membership.userId,
      name: text(body.name),
      upstreamModel: text(body.upstream_model) || null,
      contextWindow,
      kind: (text(body.kind) || 'chat') as ModelKind,
      inputPriceMicros: priceField(body.input_price, 'input_price'),
      outputPriceMicros: priceField(body.output_price, 'output_price'),
    })
    ctx.session.flash(
      'success',
      text(body.kind) === 'embedding'
        ? `Embedding model "${model.name}" added: choose it on the Knowledge page.`
        : `Model "${model.name}" added: agents of this workspace can use it now.`
    )
    return redirectTo(
      ctx,
      urlFor('agents.web.providers.show', { tenant: tenant.slug, id: provider.id })
    )
  }

  async destroyModel(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    const provider = await this.#providerForWrite(ctx)
    const model = await this.#model(ctx, provider)
    await deleteModel(provider, model, membership.userId)
    ctx.session.flash('success', `Model "${model.name}" removed.`)
    return redirectTo(
      ctx,
      urlFor('agents.web.providers.show', { tenant: tenant.slug, id: provider.id })
    )
  }

  async storePrice(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    const provider = await this.#providerForWrite(ctx)
    const model = await this.#model(ctx, provider)
    const body = ctx.request.all()
    onRefusal(ctx, {
      render: (refusal) =>
        this.#showWithRefusedForm(
          ctx,
          provider,
          `price:${model.id}`,
          {
            input_price: text(body.input_price),
            output_price: text(body.output_price),
            effective_from: text(body.effective_from),
          },
          refusal
        ),
    })
    const when = text(body.effective_from).trim()
    await setModelPrice(provider, model, {
      actorId: membership.userId,
      inputPriceMicros: priceField(body.input_price, 'input_price'),
      outputPriceMicros: priceField(body.output_price, 'output_price'),
      effectiveFrom: when ? new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(when) ? when : `${when}Z`) : null,
    })
    ctx.session.flash(
      'success',
      `New price for "${model.name}" saved. Runs already started keep their price.`
    )
    return redirectTo(
      ctx,
      urlFor('agents.web.providers.show', { tenant: tenant.slug, id: provider.id })
    )
  }

  /** POST …/connection-test: htmx gets the result fragment; without JavaScript, the page with it. */
  async testConnection(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    const provider = await this.#providerForWrite(ctx)
    const result = await testProviderConnection(
      provider.id,
      tenant.id,
      text(ctx.request.input('model')) || null
    )
    if (isHtmx(ctx)) return ctx.view.render('agents::components/connection_test_result', { result })
    return this.#renderShow(ctx, provider, { test: result })
  }

  /** Tenant-update permission, a writable workspace, then the provider of the URL. */
  async #providerForWrite(ctx: HttpContext) {
    authorize(ctx, 'tenant.update')
    assertWritable(ctx)
    return this.#provider(ctx)
  }

  /** A refused form: the provider page again, with the form's values and its field errors. */
  #showWithRefusedForm(
    ctx: HttpContext,
    provider: ProviderRow,
    form: string,
    values: Record<string, string>,
    refusal: Refusal
  ) {
    return this.#renderShow(ctx, provider, { form: { form, values, errors: refusal.fieldErrors } })
  }

  async #provider(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    // Scoped to the tenant: another tenant's provider (or a platform one) is a 404.
    const provider = isUuid(ctx.params.id) ? await findProvider(tenant.id, ctx.params.id) : null
    if (!provider) throw new NotFoundException()
    return provider
  }

  async #model(ctx: HttpContext, provider: ProviderRow) {
    const model = isUuid(ctx.params.modelId) ? await findModel(provider, ctx.params.modelId) : null
    if (!model) throw new NotFoundException()
    return model
  }

  async #renderIndex(ctx: HttpContext, form: FormState | null) {
    const { tenant } = currentTenant(ctx)
    const providers = await listProviders(tenant.id)
    const platform = [...(await catalog(null)).values()].map((m) => ({
      name: m.name,
      provider: m.providerSlug,
      input: formatCredits(m.inputPrice),
      output: formatCredits(m.outputPrice),
      contextWindow: m.contextWindow,
    }))
    const formValues =
      form?.form === 'provider'
        ? form.values
        : { slug: '', name: '', kind: 'openai_compatible', base_url: '', settings: '' }
    return ctx.view.render('agents::pages/providers', {
      providers: providers.map((p) => ({ ...p, kindLabel: KIND_LABELS[p.kind] ?? p.kind })),
      platform,
      kinds: PROVIDER_KINDS.map((kind) => ({ value: kind, label: KIND_LABELS[kind] })),
      values: formValues,
      errors: form?.form === 'provider' ? form.errors : {},
    })
  }

  async #renderShow(
    ctx: HttpContext,
    provider: ProviderRow,
    extra: { form?: FormState; test?: ConnectionTestResult }
  ) {
    const models = (await listModels(provider)).map((model) => {
      const now = Date.now()
      const current = model.prices.find((p) => new Date(p.effective_from).getTime() <= now)
      return {
        ...model,
        input: formatCredits(current?.input_price_micros ?? model.input_price_micros),
        output: formatCredits(current?.output_price_micros ?? model.output_price_micros),
        prices: model.prices.map((p) => ({
          input: formatCredits(p.input_price_micros),
          output: formatCredits(p.output_price_micros),
          from: new Date(p.effective_from).toISOString().replace('T', ' ').slice(0, 16) + ' UTC',
          upcoming: new Date(p.effective_from).getTime() > now,
          current: p === current,
        })),
      }
    })
    const form = extra.form
    const providerValues =
      form?.form === 'provider'
        ? form.values
        : {
            name: provider.name,
            base_url: provider.base_url ?? '',
            settings: Object.keys(provider.settings ?? {}).length
              ? JSON.stringify(provider.settings, null, 2)
              : '',
          }
    return ctx.view.render('agents::pages/provider', {
      provider: { ...provider, kindLabel: KIND_LABELS[provider.kind] ?? provider.kind },
      models,
      providerValues,
      providerErrors: form?.form === 'provider' ? form.errors : {},
      modelValues:
        form?.form === 'model'
          ? form.values
          : {
              name: `${provider.slug}/`,
              upstream_model: '',
              context_window: '128000',
              kind: 'chat',
              input_price: '',
              output_price: '',
            },
      modelErrors: form?.form === 'model' ? form.errors : {},
      priceForm: form?.form.startsWith('price:')
        ? { modelId: form.form.slice(6), values: form.values, errors: form.errors }
        : null,
      test: extra.test ?? null,
    })
  }
}
