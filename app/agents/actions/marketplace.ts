import db from '@adonisjs/lucid/services/db'
import { DomainException, InvalidInputException, isUuid, safeText } from '#core'
import { flagEnabled, recordAudit } from '#platform'
import type Agent from '#agents/models/agent'
import AgentVersion from '#agents/models/agent_version'
import { catalog } from '#agents/services/catalog'

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
  return {
    instructions: version.instructions,
    model: version.model,
    fallback_models: version.fallbackModels,
    temperature: version.temperature,
    max_tokens: version.maxTokens,
    tools: version.tools,
    max_steps: version.maxSteps,
  }
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

/** Listings every workspace sees: published and not hidden by a platform admin. */
export function visibleListings() {
  return db
    .from('listings')
    .join('tenants', 'tenants.id', 'listings.publisher_tenant_id')
    .where('listings.status', 'published')
    .where('listings.hidden', false)
    .select('listings.*', 'tenants.name as publisher_name')
}

/** A visible listing by id, or null → 404. */
export async function findListing(id: unknown) {
  if (!isUuid(id)) return null
  return ((await visibleListings().where('listings.id', id).first()) as ListingRow | null) ?? null
}

/**
 * What a listing shows besides its own columns, computed from the publisher's history of the
 * published version only: the pass rate of its latest finished evaluation and the median
 * credits of its last 500 succeeded runs (aggregates: never a run or a case).
 */
export async function listingStats(listings: ListingRow[]) {
  const stats = new Map<string, { passRate: number | null; median: number | null }>()
  if (!listings.length) return stats
  const { rows } = await db.rawQuery(
    `SELECT p.agent_id, p.version,
        (SELECT round(e.passed::numeric / nullif(e.passed + e.failed, 0), 4)
           FROM eval_runs e
          WHERE e.agent_id = p.agent_id AND e.agent_version = p.version AND e.status = 'succeeded'
          ORDER BY e.finished_at DESC LIMIT 1) AS pass_rate,
        (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY r.cost_micros)
           FROM (SELECT cost_micros FROM runs
                  WHERE agent_id = p.agent_id AND version = p.version AND status = 'succeeded'
                  ORDER BY created_at DESC LIMIT 500) r) AS median
       FROM (VALUES ${listings.map(() => '(?::uuid, ?::int)').join(', ')}) AS p(agent_id, version)`,
    listings.flatMap((listing) => [listing.agent_id, listing.version])
  )
  for (const row of rows)
    stats.set(`${row.agent_id}:${row.version}`, {
      passRate: row.pass_rate === null ? null : Number(row.pass_rate),
      median: row.median === null ? null : Number(row.median) / 1_000_000,
    })
  return stats
}

/** A listing as the API shows it: never the publisher's id, agent id or anything else of theirs. */
export function listingJson(
  row: ListingRow,
  stats: Map<string, { passRate: number | null; median: number | null }>,
  detail = false
) {
  const found = stats.get(`${row.agent_id}:${row.version}`)
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
    rating: { average: null as number | null, count: 0 },
    eval_pass_rate: found?.passRate ?? null,
    median_credits_per_run: found?.median ?? null,
    published_at: new Date(row.published_at).toISOString(),
    ...(detail ? { config: row.config } : {}),
  }
}
