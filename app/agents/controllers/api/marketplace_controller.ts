import type { HttpContext } from '@adonisjs/core/http'
import { InvalidInputException, keysetPage, NotFoundException, pageParams } from '#core'
import { assertWritable, authorize, currentTenant } from '#tenants'
import {
  CATEGORIES,
  findListing,
  listingJson,
  listingStats,
  publishListing,
  unpublishListing,
  visibleListings,
  type ListingRow,
} from '#agents/actions/marketplace'
import { findAgent } from '#agents/services/lookup'

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
    const shown = (await findListing(listing.id))!
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
    const stats = await listingStats(page.rows)
    return {
      data: page.rows.map((row) => listingJson(row, stats)),
      next_cursor: page.next_cursor,
    }
  }

  async show(ctx: HttpContext) {
    authorize(ctx, 'agents.read')
    const listing = await findListing(ctx.params.id)
    if (!listing) throw new NotFoundException()
    return listingJson(listing, await listingStats([listing]), true)
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
