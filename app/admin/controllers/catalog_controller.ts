import type { HttpContext } from '@adonisjs/core/http'
import { formatCredits, InvalidInputException, parseCredits, urlFor } from '#core'
import {
  addModel,
  createProvider,
  findModel,
  findProvider,
  listModels,
  listProviders,
  setModelPrice,
} from '#agents'
import { adminLinks } from '#admin/services/nav'

const back = () => urlFor('admin.catalog.index')

/** Credits per 1M tokens from a form field, as micro-credits; a 422 naming the field otherwise. */
function price(value: unknown, field: string) {
  const micros = parseCredits(value)
  if (micros === null || micros < 0n)
    throw new InvalidInputException(field, 'Enter credits per 1M tokens (e.g. 2.5).')
  return micros
}

/**
 * /admin/catalog: the platform's providers, their models and the price book (what the CLI's
 * provider:create, provider:model and model:price do). Prices start now or later, never in the
 * past; runs keep the price they started with. Every change is audited by the agents actions.
 */
export default class CatalogController {
  async index({ view, auth }: HttpContext) {
    const providers = await listProviders(null)
    const now = Date.now()
    const withModels = await Promise.all(
      providers.map(async (provider) => ({
        slug: provider.slug,
        name: provider.name,
        kind: provider.kind,
        baseUrl: provider.base_url,
        models: (await listModels(provider)).map((model) => {
          const upcoming = model.prices.filter((p) => new Date(p.effective_from).getTime() > now)
          // The price book decides (newest first): the latest price already in force.
          const current = model.prices.find((p) => new Date(p.effective_from).getTime() <= now)
          return {
            name: model.name,
            kind: model.kind,
            contextWindow: model.context_window,
            input: formatCredits(BigInt(current?.input_price_micros ?? model.input_price_micros)),
            output: formatCredits(
              BigInt(current?.output_price_micros ?? model.output_price_micros)
            ),
            upcoming: upcoming.map((p) => ({
              from: new Date(p.effective_from).toISOString().slice(0, 16).replace('T', ' '),
              input: formatCredits(BigInt(p.input_price_micros)),
              output: formatCredits(BigInt(p.output_price_micros)),
            })),
          }
        }),
      }))
    )
    return view.render('admin::pages/catalog', {
      user: auth.user,
      links: adminLinks(),
      providers: withModels,
      providerOptions: providers.map((p) => p.slug),
    })
  }

  /** POST /admin/catalog/providers: a platform provider (every workspace may use its models). */
  async storeProvider({ request, response, session, auth }: HttpContext) {
    const provider = await createProvider({
      tenantId: null,
      actorId: auth.user!.id,
      slug: String(request.input('slug') ?? ''),
      name: String(request.input('name') ?? ''),
      kind: String(request.input('kind') ?? ''),
      baseUrl: request.input('base_url') || null,
      apiKey: request.input('api_key') || null,
    })
    session.flash('success', `Provider ${provider.slug} added.`)
    return response.redirect(back())
  }

  /** POST /admin/catalog/models: a model of a platform provider with its first price. */
  async storeModel({ request, response, session, auth }: HttpContext) {
    const provider = await findProvider(null, String(request.input('provider') ?? ''))
    if (!provider) throw new InvalidInputException('provider', 'Choose a platform provider.')
    const model = await addModel(provider, {
      actorId: auth.user!.id,
      name: String(request.input('name') ?? ''),
      contextWindow: Number(request.input('context_window')),
      kind: request.input('kind') === 'embedding' ? 'embedding' : 'chat',
      inputPriceMicros: price(request.input('input_price'), 'input_price'),
      outputPriceMicros: price(request.input('output_price'), 'output_price'),
    })
    session.flash('success', `Model ${model.name} added.`)
    return response.redirect(back())
  }

  /** POST /admin/catalog/prices: a price for a model, from now or a later moment (UTC). */
  async storePrice({ request, response, session, auth }: HttpContext) {
    const provider = await findProvider(null, String(request.input('provider') ?? ''))
    const model = provider ? await findModel(provider, String(request.input('model') ?? '')) : null
    if (!provider || !model) throw new InvalidInputException('model', 'Choose a platform model.')
    const from = String(request.input('effective_from') ?? '').trim()
    await setModelPrice(provider, model, {
      actorId: auth.user!.id,
      inputPriceMicros: price(request.input('input_price'), 'input_price'),
      outputPriceMicros: price(request.input('output_price'), 'output_price'),
      effectiveFrom: from ? new Date(`${from.replace(' ', 'T')}Z`) : null,
    })
    session.flash(
      'success',
      `New price for ${model.name} ${from ? `from ${from} UTC` : 'in force now'}.`
    )
    return response.redirect(back())
  }
}
