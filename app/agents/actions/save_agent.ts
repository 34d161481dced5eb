import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import { recordAudit } from '#platform'
import { assertSlugAllowed, slugTaken } from '#agents/services/slugs'
import { InvalidInputException } from '#core'
import { slugify, withTenant } from '#tenants'
import { forgetAgent } from '#agents/services/agent_cache'
import Agent from '#agents/models/agent'
import AgentVersion from '#agents/models/agent_version'
import { catalog } from '#agents/services/catalog'
import { assertKnowledge, assertTools, DEFAULT_MAX_STEPS } from '#agents/services/agent_runtime'

export type AgentConfig = {
  instructions: string
  model: string
  fallback_models?: string[]
  temperature?: number | null
  max_tokens?: number
  tools?: unknown[]
  max_steps?: number
  knowledge?: { documents: 'all' | string[] } | null
  metadata?: Record<string, unknown>
}

async function assertKnownModels(
  tenantId: string,
  config: Pick<AgentConfig, 'model' | 'fallback_models'>
) {
  const models = await catalog(tenantId)
  if (!models.has(config.model))
    throw new InvalidInputException('model', `Unknown model "${config.model}".`)
  for (const [index, name] of (config.fallback_models ?? []).entries()) {
    if (!models.has(name))
      throw new InvalidInputException(`fallback_models.${index}`, `Unknown model "${name}".`)
  }
}

async function insertVersion(
  trx: TransactionClientContract,
  agent: Agent,
  version: number,
  config: AgentConfig,
  actorId: string | null
) {
  return AgentVersion.create(
    {
      tenantId: agent.tenantId,
      agentId: agent.id,
      version,
      instructions: config.instructions,
      model: config.model,
      fallbackModels: config.fallback_models ?? [],
      temperature: config.temperature ?? null,
      maxTokens: config.max_tokens ?? 1024,
      tools: config.tools ?? [],
      maxSteps: config.max_steps ?? DEFAULT_MAX_STEPS,
      knowledge: config.knowledge ?? null,
      metadata: config.metadata ?? {},
      createdBy: actorId,
    },
    { client: trx }
  )
}

/** Creates an agent and its version 1. */
export async function createAgent(
  input: {
    tenantId: string
    actorId: string | null
    name: string
    slug?: string
    description?: string | null
    visibility?: 'private' | 'public'
  } & AgentConfig
) {
  await assertKnownModels(input.tenantId, input)
  const slug = input.slug ?? slugify(input.name)
  assertSlugAllowed(slug)
  await assertTools(input.tenantId, input.tools ?? [], slug)
  await assertKnowledge(input.tenantId, input.knowledge)
  try {
    return await withTenant(input.tenantId, async (trx) => {
      if (await slugTaken(trx, 'agents', input.tenantId, slug))
        throw new InvalidInputException('slug', 'This slug is already used by another agent.')
      const agent = await Agent.create(
        {
          tenantId: input.tenantId,
          slug,
          name: input.name,
          description: input.description ?? null,
          visibility: input.visibility ?? 'private',
          currentVersion: 1,
          createdBy: input.actorId,
        },
        { client: trx }
      )
      const version = await insertVersion(trx, agent, 1, input, input.actorId)
      await recordAudit(
        {
          action: 'agents.agent.created',
          actorId: input.actorId,
          tenantId: input.tenantId,
          subjectType: 'agent',
          subjectId: agent.id,
          changes: { slug, model: input.model },
        },
        trx
      )
      return { agent, version }
    })
  } catch (error: any) {
    if (error?.code === '23505')
      throw new InvalidInputException('slug', 'This slug is already used by another agent.')
    throw error
  }
}

/**
 * Updates an agent: descriptive fields change in place, and every save writes a new immutable
 * version (from the given fields over the current version), which new runs then use.
 */
export async function updateAgent(
  agent: Agent,
  input: Partial<
    {
      name: string
      slug: string
      description: string | null
      visibility: 'private' | 'public'
    } & AgentConfig
  >,
  actorId: string | null
) {
  // Warm the catalog first: a query on another connection inside the transaction deadlocks PGlite.
  await catalog(agent.tenantId)
  if (input.tools) await assertTools(agent.tenantId, input.tools, input.slug ?? agent.slug)
  await assertKnowledge(agent.tenantId, input.knowledge)
  return withTenant(agent.tenantId, async (trx) => {
    const locked = await Agent.query({ client: trx })
      .where('id', agent.id)
      .whereNull('deletedAt')
      .forUpdate()
      .firstOrFail()
    const current = await AgentVersion.query({ client: trx })
      .where('agentId', locked.id)
      .where('version', locked.currentVersion)
      .firstOrFail()
    const config: AgentConfig = {
      instructions: input.instructions ?? current.instructions,
      model: input.model ?? current.model,
      fallback_models: input.fallback_models ?? current.fallbackModels,
      temperature: input.temperature !== undefined ? input.temperature : current.temperature,
      max_tokens: input.max_tokens ?? current.maxTokens,
      tools: input.tools ?? current.tools,
      max_steps: input.max_steps ?? current.maxSteps,
      knowledge: input.knowledge !== undefined ? input.knowledge : current.knowledge,
      metadata: input.metadata ?? current.metadata,
    }
    await assertKnownModels(locked.tenantId, config)
    if (input.slug && input.slug !== locked.slug) assertSlugAllowed(input.slug)
    if (
      input.slug &&
      input.slug !== locked.slug &&
      (await slugTaken(trx, 'agents', locked.tenantId, input.slug, locked.id))
    ) {
      throw new InvalidInputException('slug', 'This slug is already used by another agent.')
    }
    locked.merge({
      name: input.name ?? locked.name,
      slug: input.slug ?? locked.slug,
      description: input.description !== undefined ? input.description : locked.description,
      visibility: input.visibility ?? locked.visibility,
      currentVersion: locked.currentVersion + 1,
    })
    await locked.save()
    const version = await insertVersion(trx, locked, locked.currentVersion, config, actorId)
    await recordAudit(
      {
        action: 'agents.agent.updated',
        actorId,
        tenantId: locked.tenantId,
        subjectType: 'agent',
        subjectId: locked.id,
        changes: { version: locked.currentVersion },
      },
      trx
    )
    return { agent: locked, version }
  })
}

/** Soft-deletes an agent (its runs stay for history and billing); the slug becomes free. */
export async function deleteAgent(agent: Agent, actorId: string | null) {
  await withTenant(agent.tenantId, async (trx) => {
    await trx
      .from('agents')
      .where('id', agent.id)
      .whereNull('deleted_at')
      .update({ deleted_at: new Date() })
    await forgetAgent(agent, trx)
    await recordAudit(
      {
        action: 'agents.agent.deleted',
        actorId,
        tenantId: agent.tenantId,
        subjectType: 'agent',
        subjectId: agent.id,
      },
      trx
    )
  })
}
