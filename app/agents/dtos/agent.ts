import vine from '@vinejs/vine'
import type { Infer } from '@vinejs/vine/types'
import { dateTimeSchema, FREE_ARRAY, FREE_OBJECT } from '#core'
import type Agent from '#agents/models/agent'
import type AgentVersion from '#agents/models/agent_version'

const configuration = {
  instructions: vine.string(),
  model: vine.string(),
  fallback_models: vine.array(vine.string()),
  temperature: vine.number().nullable(),
  max_tokens: vine.number().withoutDecimals(),
  tools: vine.array(vine.any()).meta(FREE_ARRAY),
  max_steps: vine.number().withoutDecimals(),
  knowledge: vine.any().nullable().meta({ description: '{documents: "all" | [ids]} or null' }),
  metadata: vine.record(vine.any()).meta(FREE_OBJECT),
}

/** One immutable version of an agent's configuration (OpenAPI `AgentVersion`). */
export const agentVersionSchema = vine.object({
  version: vine.number().withoutDecimals(),
  ...configuration,
  created_at: dateTimeSchema(),
})

/** An agent; one agent carries its current version's configuration, a list item only its number (OpenAPI `Agent`). */
export const agentSchema = vine.object({
  id: vine.string(),
  slug: vine.string(),
  name: vine.string(),
  description: vine.string().nullable(),
  visibility: vine.enum(['private', 'public'] as const),
  version: vine.number().withoutDecimals(),
  instructions: configuration.instructions.optional(),
  model: configuration.model.optional(),
  fallback_models: configuration.fallback_models.optional(),
  temperature: vine.number().optional().nullable(),
  max_tokens: configuration.max_tokens.optional(),
  tools: vine.array(vine.any()).optional().meta(FREE_ARRAY),
  max_steps: configuration.max_steps.optional(),
  knowledge: vine.any().nullable().optional(),
  metadata: vine.record(vine.any()).optional().meta(FREE_OBJECT),
  listing: vine
    .object({ id: vine.string(), installed_version: vine.number().withoutDecimals() })
    .optional()
    .meta({ description: 'Installed from the marketplace: the listing and the version it runs' }),
  created_at: dateTimeSchema(),
  updated_at: dateTimeSchema(),
})

export function serializeVersion(version: AgentVersion): Infer<typeof agentVersionSchema> {
  return {
    version: version.version,
    instructions: version.instructions,
    model: version.model,
    fallback_models: version.fallbackModels,
    temperature: version.temperature,
    max_tokens: version.maxTokens,
    tools: version.tools,
    max_steps: version.maxSteps,
    knowledge: version.knowledge ?? null,
    metadata: version.metadata,
    created_at: version.createdAt.toISO()!,
  }
}

/** The agent as the API shows it, with its current version's configuration. */
export function serializeAgent(agent: Agent, version?: AgentVersion): Infer<typeof agentSchema> {
  return {
    id: agent.id,
    slug: agent.slug,
    name: agent.name,
    description: agent.description,
    visibility: agent.visibility,
    ...(version ? { ...serializeVersion(version) } : { version: agent.currentVersion }),
    ...(agent.listingId
      ? { listing: { id: agent.listingId, installed_version: agent.installedVersion ?? 0 } }
      : {}),
    created_at: agent.createdAt.toISO()!,
    updated_at: agent.updatedAt.toISO()!,
  }
}
