import db from '@adonisjs/lucid/services/db'
import { DomainException, InvalidInputException, isUuid, safeText } from '#core'
import { flagEnabled, recordAudit } from '#platform'
import { slugify, Tenant, withTenant } from '#tenants'
import type Agent from '#agents/models/agent'
import AgentVersion from '#agents/models/agent_version'
import { catalog } from '#agents/services/catalog'
import { serializeVersion } from '#agents/dtos/agent'
import { createAgent, updateAgent, type AgentConfig } from '#agents/actions/save_agent'

export const CATEGORIES = [
  'assistant',
  'support',
  'writing',
  'coding',
  'data',
  'research',
  'productivity',
  'other',
] as const

export type ListingRow = {
  id: string
  publisher_tenant_id: string
  agent_id: string
  version: number
  config: Record<string, unknown>
  title: string
  summary: string
  category: string
  tags: string[]
  examples: string[]
  status: 'published' | 'unpublished'
  hidden: boolean
  featured: boolean
  published_at: Date
  created_at: Date
  updated_at: Date
  publisher_name?: string
}

const text = (value: unknown, field: string, max: number) => {
  const clean = typeof value === 'string' ? safeText(value.trim()) : ''
  if (!clean) throw new InvalidInputException(field, `Required, at most ${max} characters.`)
  if (clean.length > max) throw new InvalidInputException(field, `At most ${max} characters.`)
  return clean
}

function list(value: unknown, field: string, most: number, max: number, lower = false) {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) throw new InvalidInputException(field, 'Give a list.')
  if (value.length > most) throw new InvalidInputException(field, `At most ${most}.`)
  const items = value.map((item, index) => {
    const clean = text(item, `${field}.${index}`, max)
    return lower ? clean.toLowerCase() : clean
  })
  return [...new Set(items)]
}

/**
 * What a listing publishes of a version: its configuration and nothing that points back into
 * the publisher's workspace. Knowledge, handoffs to other agents and models of the publisher's
 * own providers cannot travel: such a version is refused (422) on the field that holds them.
 */
async function shareableConfig(version: AgentVersion) {
  if (version.knowledge)
    throw new InvalidInputException(
      'knowledge',
      'Knowledge documents stay in your workspace: remove them from the agent before publishing.'
    )
  if (version.tools.some((tool) => typeof tool !== 'string'))
    throw new InvalidInputException(
      'tools',
      'Handoffs and caller-side functions cannot be published; only built-in tools can.'
    )
  const platform = await catalog(null)
  for (const model of [version.model, ...version.fallbackModels])
    if (!platform.has(model))
      throw new InvalidInputException(
        'model',
        `"${model}" is a model of your own providers: installers could not run it. ` +
          'Publish a version on platform models.'
      )
  // The version's configuration as the API shows it, without what stays with the publisher.
  const {
    version: _number,
    knowledge: _knowledge,
    metadata: _metadata,
    created_at: _createdAt,
    ...config
  } = serializeVersion(version)
  return config
}

/**
 * Publishes the agent's current version (or republishes: one listing per agent, now at this
 * version). Behind the `marketplace.publish` flag (403 when it is off for the workspace).
 */
export async function publishListing(input: {
  agent: Agent
  planId: string | null
  actorId: string | null
  title: unknown
  summary: unknown
  category: unknown
  tags?: unknown
  examples?: unknown
}) {
  const { agent } = input
  if (
    !(await flagEnabled('marketplace.publish', { tenantId: agent.tenantId, planId: input.planId }))
  )
    throw new DomainException('Publishing to the marketplace is switched off for this workspace.', {
      status: 403,
      code: 'E_FEATURE_DISABLED',
    })
  const fields = {
    title: text(input.title, 'title', 120),
    summary: text(input.summary, 'summary', 500),
    category: String(input.category ?? ''),
    tags: list(input.tags, 'tags', 10, 30, true),
    examples: list(input.examples, 'examples', 5, 300),
  }
  if (!(CATEGORIES as readonly string[]).includes(fields.category))
    throw new InvalidInputException('category', `Choose one of: ${CATEGORIES.join(', ')}.`)
  const version = await AgentVersion.query()
    .where('agentId', agent.id)
    .where('version', agent.currentVersion)
    .firstOrFail()
  const config = await shareableConfig(version)
  const values = {
    ...fields,
    tags: JSON.stringify(fields.tags),
    examples: JSON.stringify(fields.examples),
    version: version.version,
    config: JSON.stringify(config),
    status: 'published',
    published_at: new Date(),
    updated_at: new Date(),
  }
  return db.transaction(async (trx) => {
    const [row] = (await trx
      .table('listings')
      .insert({ ...values, publisher_tenant_id: agent.tenantId, agent_id: agent.id })
      .onConflict('agent_id')
      .merge(Object.keys(values))
      .returning('*')) as ListingRow[]
    await recordAudit(
      {
        action: 'agents.listing.published',
        actorId: input.actorId,
        tenantId: agent.tenantId,
        subjectType: 'listing',
        subjectId: row.id,
        changes: { agent: agent.slug, version: version.version, title: fields.title },
      },
      trx
    )
    return row
  })
}

/** Takes the agent's listing off the marketplace (installed copies keep working). 404 if none. */
export async function unpublishListing(agent: Agent, actorId: string | null) {
  return db.transaction(async (trx) => {
    const [row] = (await trx
      .from('listings')
      .where('agent_id', agent.id)
      .where('publisher_tenant_id', agent.tenantId)
      .where('status', 'published')
      .update({ status: 'unpublished', updated_at: new Date() })
      .returning('*')) as ListingRow[]
    if (!row) return null
    await recordAudit(
      {
        action: 'agents.listing.unpublished',
        actorId,
        tenantId: agent.tenantId,
        subjectType: 'listing',
        subjectId: row.id,
        changes: { agent: agent.slug },
      },
      trx
    )
    return row
  })
}

/** Fills each listing's `publisher_name` (the publishing workspace's name, through its door). */
export async function withPublishers(rows: ListingRow[]) {
  const ids = [...new Set(rows.map((row) => row.publisher_tenant_id))]
  const tenants = ids.length ? await Tenant.query().whereIn('id', ids).select('id', 'name') : []
  const names = new Map(tenants.map((tenant) => [tenant.id, tenant.name]))
  for (const row of rows) row.publisher_name = names.get(row.publisher_tenant_id) ?? ''
  return rows
}

/** Listings every workspace sees: published and not hidden by a platform admin. */
export function visibleListings() {
  return db
    .from('listings')
    .where('listings.status', 'published')
    .where('listings.hidden', false)
    .select('listings.*')
}

/** A visible listing by id, or null → 404. */
export async function findListing(id: unknown) {
  if (!isUuid(id)) return null
  const row = (await visibleListings().where('listings.id', id).first()) as ListingRow | null
  return row ? (await withPublishers([row]))[0] : null
}

/** A listing as its publisher sees it after publishing (even while a platform admin hides it). */
export async function publishedListing(id: string) {
  const row = (await db.from('listings').where('id', id).firstOrFail()) as ListingRow
  return (await withPublishers([row]))[0]
}

/**
 * What a listing shows besides its own columns: its reviews' average and count, and from the
 * publisher's history of the published version the pass rate of its latest finished
 * evaluation and the median credits of its last 500 succeeded runs (aggregates only).
 */
export async function listingStats(listings: ListingRow[]) {
  const stats = new Map<string, Stats>()
  if (!listings.length) return stats
  const { rows } = await db.rawQuery(
    `SELECT p.listing_id,
        (SELECT round(e.passed::numeric / nullif(e.passed + e.failed, 0), 4)
           FROM eval_runs e
          WHERE e.agent_id = p.agent_id AND e.agent_version = p.version AND e.status = 'succeeded'
          ORDER BY e.finished_at DESC LIMIT 1) AS pass_rate,
        (SELECT json_build_object('average', round(avg(v.rating), 2), 'count', count(*))
           FROM listing_reviews v WHERE v.listing_id = p.listing_id) AS rating,
        (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY r.cost_micros)
           FROM (SELECT cost_micros FROM runs
                  WHERE agent_id = p.agent_id AND version = p.version AND status = 'succeeded'
                  ORDER BY created_at DESC LIMIT 500) r) AS median
       FROM (VALUES ${listings.map(() => '(?::uuid, ?::uuid, ?::int)').join(', ')})
         AS p(listing_id, agent_id, version)`,
    listings.flatMap((listing) => [listing.id, listing.agent_id, listing.version])
  )
  for (const row of rows)
    stats.set(row.listing_id, {
      passRate: row.pass_rate === null ? null : Number(row.pass_rate),
      median: row.median === null ? null : Number(row.median) / 1_000_000,
      rating: {
        average: row.rating.average === null ? null : Number(row.rating.average),
        count: Number(row.rating.count),
      },
    })
  return stats
}

type Stats = {
  passRate: number | null
  median: number | null
  rating: { average: number | null; count: number }
}

/** A listing as the API shows it: never the publisher's id, agent id or anything else of theirs. */
export function listingJson(row: ListingRow, stats: Map<string, Stats>, detail = false) {
  const found = stats.get(row.id)
  return {
    id: row.id,
    title: row.title,
    summary: row.summary,
    category: row.category,
    tags: row.tags,
    examples: row.examples,
    publisher: { name: row.publisher_name ?? '' },
    version: row.version,
    featured: row.featured,
    rating: found?.rating ?? { average: null, count: 0 },
    eval_pass_rate: found?.passRate ?? null,
    median_credits_per_run: found?.median ?? null,
    published_at: new Date(row.published_at).toISOString(),
    ...(detail ? { config: row.config } : {}),
  }
}

/** The listing's configuration as an agent configuration. */
function configOf(listing: ListingRow): AgentConfig {
  const config = listing.config as Record<string, any>
  return {
    instructions: config.instructions,
    model: config.model,
    fallback_models: config.fallback_models ?? [],
    temperature: config.temperature ?? null,
    max_tokens: config.max_tokens,
    tools: config.tools ?? [],
    max_steps: config.max_steps,
  }
}

/**
 * Installs a listing: a new agent in the caller's workspace with the listing's configuration
 * (it runs on the caller's providers and credits), linked to the listing and its version. The
 * slug comes from the title, numbered when taken.
 */
export async function installListing(
  listing: ListingRow,
  tenantId: string,
  actorId: string | null
) {
  const base = slugify(listing.title).slice(0, 30) || 'agent'
  for (let attempt = 1; attempt <= 20; attempt++) {
    const slug = attempt === 1 ? base : `${base}-${attempt}`
    try {
      const { agent, version } = await createAgent({
        tenantId,
        actorId,
        name: listing.title,
        slug,
        description: listing.summary,
        ...configOf(listing),
      })
      await withTenant(tenantId, async (trx) => {
        await trx
          .from('agents')
          .where('id', agent.id)
          .update({ listing_id: listing.id, installed_version: listing.version })
        await recordAudit(
          {
            action: 'agents.listing.installed',
            actorId,
            tenantId,
            subjectType: 'agent',
            subjectId: agent.id,
            changes: { listing: listing.id, version: listing.version },
          },
          trx
        )
      })
      agent.merge({ listingId: listing.id, installedVersion: listing.version })
      return { agent, version }
    } catch (error) {
      if (error instanceof InvalidInputException && error.field === 'slug') continue
      throw error
    }
  }
  throw new InvalidInputException('title', 'No free slug for this agent; rename one of yours.')
}

/**
 * Brings an installed agent to its listing's published version (a new version of the agent).
 * 404 when the agent was not installed or its listing is gone; 409 when it is up to date.
 */
export async function updateInstalledAgent(agent: Agent, actorId: string | null) {
  const listing = agent.listingId ? await findListing(agent.listingId) : null
  if (!listing) return null
  if (listing.version === agent.installedVersion)
    throw new DomainException('This agent already runs the published version.', {
      status: 409,
      code: 'E_UP_TO_DATE',
    })
  const saved = await updateAgent(agent, configOf(listing), actorId)
  await withTenant(agent.tenantId, (trx) =>
    trx.from('agents').where('id', agent.id).update({ installed_version: listing.version })
  )
  agent.merge({ installedVersion: listing.version })
  return saved
}

/**
 * A workspace's review of a listing (1–5 and a text); a second one replaces the first. Only a
 * workspace that ran an installed copy successfully may review (403 otherwise), never the
 * publisher itself.
 */
export async function reviewListing(input: {
  listing: ListingRow
  tenantId: string
  actorId: string | null
  rating: unknown
  body: unknown
}) {
  const { listing, tenantId } = input
  if (
    !Number.isInteger(input.rating) ||
    (input.rating as number) < 1 ||
    (input.rating as number) > 5
  )
    throw new InvalidInputException('rating', 'Give a whole number from 1 to 5.')
  const body = typeof input.body === 'string' ? safeText(input.body.trim()) : ''
  if (body.length > 2000) throw new InvalidInputException('body', 'At most 2,000 characters.')
  if (listing.publisher_tenant_id === tenantId)
    throw new DomainException('A workspace cannot review its own listing.', {
      status: 403,
      code: 'E_FORBIDDEN',
    })
  return withTenant(tenantId, async (trx) => {
    const ran = await trx
      .from('runs')
      .join('agents', 'agents.id', 'runs.agent_id')
      .where('runs.tenant_id', tenantId)
      .where('agents.tenant_id', tenantId)
      .where('agents.listing_id', listing.id)
      .where('runs.status', 'succeeded')
      .select(trx.raw('1'))
      .first()
    if (!ran)
      throw new DomainException(
        'Only a workspace that ran an installed copy successfully can review it: install it and run it first.',
        { status: 403, code: 'E_REVIEW_NOT_ALLOWED' }
      )
    const [review] = await trx
      .table('listing_reviews')
      .insert({
        listing_id: listing.id,
        tenant_id: tenantId,
        rating: input.rating,
        body,
        created_by: input.actorId,
        updated_at: new Date(),
      })
      .onConflict(['listing_id', 'tenant_id'])
      .merge(['rating', 'body', 'created_by', 'updated_at'])
      .returning(['id', 'rating', 'body', 'created_at', 'updated_at'])
    await recordAudit(
      {
        action: 'agents.listing.reviewed',
        actorId: input.actorId,
        tenantId,
        subjectType: 'listing',
        subjectId: listing.id,
        changes: { rating: input.rating },
      },
      trx
    )
    return review as {
      id: string
      rating: number
      body: string
      created_at: Date
      updated_at: Date
    }
  })
}

/** The latest reviews of a listing (rating, text, date: never who wrote them). */
export async function latestReviews(listing: ListingRow) {
  const rows = await db
    .from('listing_reviews')
    .where('listing_id', listing.id)
    .orderBy('updated_at', 'desc')
    .limit(20)
    .select('rating', 'body', 'updated_at')
  return rows.map((row) => ({
    rating: row.rating,
    body: row.body,
    updated_at: new Date(row.updated_at).toISOString(),
  }))
}

/** The caller's installed copies of a listing and whether each is offered an update. */
export async function installedCopies(listing: ListingRow, tenantId: string) {
  const rows = await db
    .from('agents')
    .where('tenant_id', tenantId)
    .where('listing_id', listing.id)
    .whereNull('deleted_at')
    .select('id', 'slug', 'installed_version')
  return rows.map((row) => ({
    agent_id: row.id,
    slug: row.slug,
    installed_version: row.installed_version,
    update_available: row.installed_version !== listing.version,
  }))
}

/** Every listing for platform admins, newest first (hidden and unpublished ones included). */
export async function allListings(limit = 200) {
  const rows = (await db
    .from('listings')
    .orderBy('created_at', 'desc')
    .limit(limit)) as ListingRow[]
  return withPublishers(rows)
}

/** A platform admin hides (or shows again) and features (or not) a listing; audited. */
export async function moderateListing(
  id: string,
  changes: { hidden?: boolean; featured?: boolean },
  actorId: string | null
) {
  if (!isUuid(id)) return null
  return db.transaction(async (trx) => {
    const [row] = (await trx
      .from('listings')
      .where('id', id)
      .update({ ...changes, updated_at: new Date() })
      .returning('*')) as ListingRow[]
    if (!row) return null
    await recordAudit(
      {
        action: 'agents.listing.moderated',
        actorId,
        tenantId: row.publisher_tenant_id,
        subjectType: 'listing',
        subjectId: row.id,
        changes,
      },
      trx
    )
    return row
  })
}

/** The agent's listing, whatever its state, or null. */
export async function listingOfAgent(agent: Agent) {
  const row = (await db
    .from('listings')
    .where('agent_id', agent.id)
    .where('publisher_tenant_id', agent.tenantId)
    .first()) as ListingRow | null
  return row ?? null
}
