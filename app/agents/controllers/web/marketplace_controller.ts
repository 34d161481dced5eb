import type { HttpContext } from '@adonisjs/core/http'
import { NotFoundException, onRefusal, urlFor } from '#core'
import { assertWritable, authorize, currentTenant } from '#tenants'
import {
  CATEGORIES,
  findListing,
  installedCopies,
  installListing,
  latestReviews,
  listingJson,
  listingOfAgent,
  listingStats,
  publishListing,
  reviewListing,
  unpublishListing,
  updateInstalledAgent,
  visibleListings,
  withPublishers,
  type ListingRow,
} from '#agents/actions/marketplace'
import type Agent from '#agents/models/agent'
import { can, routeAgent } from '#agents/controllers/web/helpers'

const text = (value: unknown) => (typeof value === 'string' ? value : '')

/**
 * /t/:tenant/marketplace — the catalogue (search, category), a listing's page (its published
 * configuration, reviews, your copies and their updates), install and review.
 */
export default class MarketplaceController {
  async index(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'agents.read')
    const q = text(ctx.request.qs().q).trim().slice(0, 200)
    const category = text(ctx.request.qs().category)
    const query = visibleListings()
      .orderBy('listings.featured', 'desc')
      .orderBy('listings.created_at', 'desc')
      .limit(60)
    if (q) query.whereRaw(`listings.search @@ websearch_to_tsquery('english', ?)`, [q])
    if ((CATEGORIES as readonly string[]).includes(category))
      query.where('listings.category', category)
    const rows = await withPublishers((await query) as ListingRow[])
    const stats = await listingStats(rows)
    return ctx.view.render('agents::pages/marketplace', {
      q,
      category,
      categories: CATEGORIES,
      listings: rows.map((row) => ({
        ...listingJson(row, stats),
        url: urlFor('agents.web.marketplace.show', { tenant: tenant.slug, id: row.id }),
      })),
    })
  }

  async show(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'agents.read')
    const listing = await findListing(ctx.params.id)
    if (!listing) throw new NotFoundException()
    const params = { tenant: tenant.slug, id: listing.id }
    return ctx.view.render('agents::pages/marketplace_listing', {
      listing: listingJson(listing, await listingStats([listing]), true),
      reviews: await latestReviews(listing),
      installed: (await installedCopies(listing, tenant.id)).map((copy) => ({
        ...copy,
        url: urlFor('agents.web.agents.show', { tenant: tenant.slug, slug: copy.slug }),
        update: urlFor('agents.web.agent_updates.store', { tenant: tenant.slug, slug: copy.slug }),
      })),
      urls: {
        install: urlFor('agents.web.marketplace_installs.store', params),
        review: urlFor('agents.web.marketplace_reviews.store', params),
        back: urlFor('agents.web.marketplace.index', { tenant: tenant.slug }),
      },
      canWrite: can(ctx, 'agents.write'),
    })
  }

  async install(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'agents.write')
    assertWritable(ctx)
    const listing = await this.#listing(ctx)
    const { agent } = await installListing(listing, tenant.id, membership.userId)
    ctx.session.flash('success', `"${listing.title}" was installed as ${agent.slug}.`)
    return ctx.response.redirect(
      urlFor('agents.web.agents.show', { tenant: tenant.slug, slug: agent.slug })
    )
  }

  async review(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'agents.write')
    assertWritable(ctx)
    const listing = await this.#listing(ctx)
    const back = urlFor('agents.web.marketplace.show', { tenant: tenant.slug, id: listing.id })
    onRefusal(ctx, {
      render: ({ message }) => {
        ctx.session.flash('error', `Your review was not saved: ${message}`)
        return ctx.response.redirect(`${back}#review`)
      },
    })
    await reviewListing({
      listing,
      tenantId: tenant.id,
      actorId: membership.userId,
      rating: Number(ctx.request.input('rating')),
      body: ctx.request.input('body'),
    })
    ctx.session.flash('success', 'Thank you: your review is saved.')
    return ctx.response.redirect(`${back}#reviews`)
  }

  /** The agent's marketplace page: its listing's state and the form to (re)publish it. */
  async listingForm(ctx: HttpContext) {
    authorize(ctx, 'agents.read')
    const agent = await routeAgent(ctx)
    const current = await listingOfAgent(agent)
    const flashed = ctx.session.flashMessages.get('listingForm') as
      Record<string, string> | undefined
    return this.#renderForm(ctx, agent, current, flashed ?? null, {})
  }

  async publish(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'agents.write')
    authorize(ctx, 'tenant.update')
    assertWritable(ctx)
    const agent = await routeAgent(ctx)
    const values = {
      title: text(ctx.request.input('title')),
      summary: text(ctx.request.input('summary')),
      category: text(ctx.request.input('category')),
      tags: text(ctx.request.input('tags')),
      examples: text(ctx.request.input('examples')),
    }
    onRefusal(ctx, {
      render: async ({ fieldErrors, message, status }) => {
        ctx.response.status(status)
        const errors = Object.keys(fieldErrors).length ? fieldErrors : { title: [message] }
        return this.#renderForm(ctx, agent, await listingOfAgent(agent), values, errors)
      },
    })
    const listing = await publishListing({
      agent,
      planId: tenant.planId,
      actorId: membership.userId,
      title: values.title,
      summary: values.summary,
      category: values.category,
      tags: values.tags
        .split(',')
        .map((tag) => tag.trim())
        .filter(Boolean),
      examples: values.examples
        .split(/\r?\n/)
        .map((line) => line.trim())
        .filter(Boolean),
    })
    ctx.session.flash('success', `Version ${listing.version} of ${agent.name} is published.`)
    return ctx.response.redirect(
      urlFor('agents.web.listings.show', { tenant: tenant.slug, slug: agent.slug })
    )
  }

  async unpublish(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'agents.write')
    authorize(ctx, 'tenant.update')
    assertWritable(ctx)
    const agent = await routeAgent(ctx)
    if (!(await unpublishListing(agent, membership.userId))) throw new NotFoundException()
    ctx.session.flash('success', `${agent.name} is no longer in the marketplace.`)
    return ctx.response.redirect(
      urlFor('agents.web.listings.show', { tenant: tenant.slug, slug: agent.slug })
    )
  }

  /** Brings an installed agent to its listing's published version. */
  async update(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'agents.write')
    assertWritable(ctx)
    const agent = await routeAgent(ctx)
    const back = urlFor('agents.web.agents.show', { tenant: tenant.slug, slug: agent.slug })
    onRefusal(ctx, {
      render: ({ message }) => {
        ctx.session.flash('error', message)
        return ctx.response.redirect(back)
      },
    })
    const saved = await updateInstalledAgent(agent, membership.userId)
    if (!saved) throw new NotFoundException()
    ctx.session.flash(
      'success',
      `${agent.name} now runs the published version (its version ${saved.version.version}).`
    )
    return ctx.response.redirect(back)
  }

  #renderForm(
    ctx: HttpContext,
    agent: Agent,
    current: ListingRow | null,
    values: Record<string, string> | null,
    errors: Record<string, string[]>
  ) {
    const { tenant } = currentTenant(ctx)
    const params = { tenant: tenant.slug, slug: agent.slug }
    return ctx.view.render('agents::pages/agent_listing', {
      agent,
      current: current
        ? {
            ...current,
            url: urlFor('agents.web.marketplace.show', { tenant: tenant.slug, id: current.id }),
          }
        : null,
      values: values ?? {
        title: current?.title ?? agent.name,
        summary: current?.summary ?? agent.description ?? '',
        category: current?.category ?? 'assistant',
        tags: (current?.tags ?? []).join(', '),
        examples: (current?.examples ?? []).join('\n'),
      },
      errors,
      categories: CATEGORIES,
      canManage: can(ctx, 'tenant.update') && can(ctx, 'agents.write'),
      urls: {
        publish: urlFor('agents.web.listings.store', params),
        unpublish: urlFor('agents.web.listings.destroy', params, { qs: { _method: 'DELETE' } }),
      },
    })
  }

  async #listing(ctx: HttpContext) {
    const listing = await findListing(ctx.params.id)
    if (!listing) throw new NotFoundException()
    return listing
  }
}
