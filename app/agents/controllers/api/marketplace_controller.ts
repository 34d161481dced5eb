import type { HttpContext } from '@adonisjs/core/http'
import { InvalidInputException, keysetPage, NotFoundException, pageParams } from '#core'
import { assertWritable, authorize, currentTenant } from '#tenants'
import {
  CATEGORIES,
  findListing,
  installListing,
  installedCopies,
  latestReviews,
  reviewListing,
  updateInstalledAgent,
  listingJson,
  listingStats,
  publishedListing,
  publishListing,
  unpublishListing,
  visibleListings,
  withPublishers,
  type ListingRow,
} from '#agents/actions/marketplace'
import { findAgent } from '#agents/services/lookup'
import { serializeAgent } from '#agents/dtos/agent'

/**
 * The marketplace: an agent's listing (`/agents/:idOrSlug/listing`: publish, unpublish; owners
 * and admins) and the catalogue every workspace browses (`/marketplace`, `/marketplace/:id`).
 */
export default class MarketplaceController {
  async publish(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    const agent = await this.#agent(ctx)
    assertWritable(ctx)
    const body = ctx.request.body()
    const listing = await publishListing({
      agent,
      planId: tenant.planId,
      actorId: membership.userId,
      title: body.title,
      summary: body.summary,
      category: body.category,
      tags: body.tags,
      examples: body.examples,
    })
    ctx.response.header('Location', `/api/v1/marketplace/${listing.id}`)
    const shown = await publishedListing(listing.id)
    return ctx.response.created(listingJson(shown, await listingStats([shown]), true))
  }

  async unpublish(ctx: HttpContext) {
    const { membership } = currentTenant(ctx)
    const agent = await this.#agent(ctx)
    assertWritable(ctx)
    if (!(await unpublishListing(agent, membership.userId))) throw new NotFoundException()
    return ctx.response.noContent()
  }

  async index(ctx: HttpContext) {
    authorize(ctx, 'agents.read')
    const { q, category } = ctx.request.qs()
    const query = visibleListings()
    if (typeof q === 'string' && q.trim()) {
      if (q.length > 200) throw new InvalidInputException('q', 'At most 200 characters.')
      query.whereRaw(`listings.search @@ websearch_to_tsquery('english', ?)`, [q])
    }
    if (category !== undefined && category !== '') {
      if (!(CATEGORIES as readonly string[]).includes(category))
        throw new InvalidInputException('category', `One of: ${CATEGORIES.join(', ')}.`)
      query.where('listings.category', category)
    }
    const page = await keysetPage<ListingRow>(query, 'listings', pageParams(ctx))
    await withPublishers(page.rows)
    const stats = await listingStats(page.rows)
    return {
      data: page.rows.map((row) => listingJson(row, stats)),
      next_cursor: page.next_cursor,
    }
  }

  /** One listing; `installed` lists the caller's copies and whether an update is offered. */
  async show(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'agents.read')
    const listing = await findListing(ctx.params.id)
    if (!listing) throw new NotFoundException()
    return {
      ...listingJson(listing, await listingStats([listing]), true),
      reviews: await latestReviews(listing),
      installed: await installedCopies(listing, tenant.id),
    }
  }

  async install(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'agents.write')
    assertWritable(ctx)
    const listing = await findListing(ctx.params.id)
    if (!listing) throw new NotFoundException()
    const { agent, version } = await installListing(listing, tenant.id, membership.userId)
    ctx.response.header('Location', `/api/v1/agents/${agent.id}`)
    return ctx.response.created(serializeAgent(agent, version))
  }

  async review(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'agents.write')
    assertWritable(ctx)
    const listing = await findListing(ctx.params.id)
    if (!listing) throw new NotFoundException()
    const body = ctx.request.body()
    const review = await reviewListing({
      listing,
      tenantId: tenant.id,
      actorId: membership.userId,
      rating: body.rating,
      body: body.body,
    })
    return ctx.response.created({
      id: review.id,
      rating: review.rating,
      body: review.body,
      created_at: new Date(review.created_at).toISOString(),
      updated_at: new Date(review.updated_at).toISOString(),
    })
  }

  /** Brings an installed agent to its listing's published version. */
  async update(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'agents.write')
    assertWritable(ctx)
    const agent = await findAgent(tenant.id, ctx.params.idOrSlug)
    if (!agent) throw new NotFoundException()
    const saved = await updateInstalledAgent(agent, membership.userId)
    if (!saved) throw new NotFoundException()
    saved.agent.merge({ installedVersion: agent.installedVersion })
    return serializeAgent(saved.agent, saved.version)
  }

  /** The caller's agent; publishing speaks for the workspace (owners and admins, agents:write). */
  async #agent(ctx: HttpContext) {
    const { tenant } = currentTenant(ctx)
    authorize(ctx, 'agents.write')
    authorize(ctx, 'tenant.update')
    const agent = await findAgent(tenant.id, ctx.params.idOrSlug)
    if (!agent) throw new NotFoundException()
    return agent
  }
}
