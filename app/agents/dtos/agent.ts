import type Agent from '#agents/models/agent'
import type AgentVersion from '#agents/models/agent_version'

export function serializeVersion(version: AgentVersion) {
  return {
    version: version.version,
    instructions: version.instructions,
    model: version.model,
    fallback_models: version.fallbackModels,
    temperature: version.temperature,
    max_tokens: version.maxTokens,
    tools: version.tools,
    metadata: version.metadata,
    created_at: version.createdAt.toISO(),
  }
}

/** The agent as the API shows it, with its current version's configuration. */
export function serializeAgent(agent: Agent, version?: AgentVersion) {
  return {
    id: agent.id,
    slug: agent.slug,
    name: agent.name,
    description: agent.description,
    visibility: agent.visibility,
    ...(version ? { ...serializeVersion(version) } : { version: agent.currentVersion }),
    created_at: agent.createdAt.toISO(),
    updated_at: agent.updatedAt.toISO(),
  }
}
