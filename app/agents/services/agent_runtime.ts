import db from '@adonisjs/lucid/services/db'
import { InvalidInputException, isUuid } from '#core'
import type AgentVersion from '#agents/models/agent_version'
import { catalog, costMicros, type CatalogModel } from '#agents/services/catalog'
import { agentForRun } from '#agents/services/agent_cache'
import {
  BUILTIN_TOOL_NAMES,
  builtinToolDefinition,
  isBuiltinTool,
  type BuiltinToolName,
} from '#agents/tools/builtin'
import type { ChatMessage, SimulateOptions, ToolDefinition } from '#agents/providers/types'

/** Model calls a run may make in its tool loop unless the agent says otherwise. */
export const DEFAULT_MAX_STEPS = 10

/**
 * What one agent brings to a run: its prompt settings, its model chain with the prices in force
 * now, and the tools it offers — built-ins run here, handoffs switch agents, any other function
 * is the caller's (the run ends with its calls, as OpenAI's API does).
 */
export type AgentRuntime = {
  agentId: string | null
  slug: string | null
  instructions: string
  chain: CatalogModel[]
  maxTokens: number
  temperature: number | null
  /** Everything offered to the model (built-ins, handoffs, the caller's functions). */
  tools?: ToolDefinition[]
  builtins: BuiltinToolName[]
  /** Handoff tool name → the agent's slug. */
  handoffs: Record<string, string>
  maxSteps: number
  /** The documents `knowledge_search` searches, when the agent offers it. */
  knowledge: { documents: 'all' | string[] } | null
  simulate?: SimulateOptions
}

/** The built-in tool that searches the workspace's documents (run by the executor). */
export const KNOWLEDGE_TOOL = 'knowledge_search'

const KNOWLEDGE_DEFINITION: ToolDefinition = {
  name: KNOWLEDGE_TOOL,
  description:
    "Searches this workspace's documents and returns the most relevant passages, best first. " +
    'Cite what you use.',
  parameters: {
    type: 'object',
    properties: {
      query: { type: 'string', description: 'What to look for, in a few words.' },
      limit: { type: 'integer', minimum: 1, maximum: 20, description: 'Passages (default 5).' },
    },
    required: ['query'],
    additionalProperties: false,
  },
}

/**
 * Checks an agent's `knowledge` before it is saved: `{documents: "all"}` or up to 100 ids of the
 * workspace's documents (422 on `knowledge.documents.N` for another id).
 */
export async function assertKnowledge(tenantId: string, knowledge: unknown) {
  if (knowledge === null || knowledge === undefined) return
  const documents = (knowledge as any)?.documents
  if (documents === 'all') return
  if (!Array.isArray(documents) || documents.length > 100)
    throw new InvalidInputException(
      'knowledge.documents',
      'Use "all" or a list of up to 100 document ids.'
    )
  const ids = documents.filter((id): id is string => typeof id === 'string' && isUuid(id))
  const known = new Set(
    ids.length
      ? (
          await db
            .from('knowledge_documents')
            .where('tenant_id', tenantId)
            .whereIn('id', ids)
            .select('id')
        ).map((row) => row.id as string)
      : []
  )
  for (const [index, id] of documents.entries())
    if (!known.has(id))
      throw new InvalidInputException(
        `knowledge.documents.${index}`,
        'No such document in this workspace.'
      )
}

/** The tool a handoff is offered as (OpenAI's function names allow [a-zA-Z0-9_-]). */
export function handoffToolName(slug: string) {
  return `handoff_to_${slug.replaceAll('-', '_')}`
}

/** `{"type": "agent", "agent": "<slug>"}`, the handoff entry of an agent's tools. */
export function handoffSlug(tool: unknown): string | null {
  if (!tool || typeof tool !== 'object') return null
  const raw = tool as Record<string, unknown>
  return raw.type === 'agent' && typeof raw.agent === 'string' ? raw.agent : null
}

/**
 * Checks an agent's `tools` before it is saved: built-in names, handoffs to other agents of the
 * same workspace, or function definitions the caller runs. Errors name the entry (`tools.N`).
 */
export async function assertTools(tenantId: string, tools: unknown[], selfSlug?: string) {
  for (const [index, tool] of tools.entries()) {
    const field = `tools.${index}`
    if (typeof tool === 'string') {
      if (tool === KNOWLEDGE_TOOL) continue
      if (!isBuiltinTool(tool))
        throw new InvalidInputException(
          field,
          `Unknown tool "${tool}"; built-in tools are ${[...BUILTIN_TOOL_NAMES, KNOWLEDGE_TOOL].join(', ')}.`
        )
      continue
    }
    if (tool && typeof tool === 'object' && (tool as any).type === 'agent') {
      const slug = handoffSlug(tool)
      if (!slug)
        throw new InvalidInputException(field, 'A handoff is {"type": "agent", "agent": "<slug>"}.')
      if (slug === selfSlug)
        throw new InvalidInputException(field, 'An agent cannot hand off to itself.')
      if (!(await agentForRun(tenantId, slug)))
        throw new InvalidInputException(field, `No agent "${slug}" in this workspace.`)
      continue
    }
    if (!toolDefinitions([tool]))
      throw new InvalidInputException(
        field,
        'A tool is a built-in name, {"type": "agent", "agent": "<slug>"} or a function definition with a name.'
      )
  }
  const names = new Set<string>()
  for (const [index, tool] of tools.entries()) {
    const name =
      typeof tool === 'string'
        ? tool
        : handoffSlug(tool)
          ? handoffToolName(handoffSlug(tool)!)
          : toolDefinitions([tool])![0].name
    if (names.has(name))
      throw new InvalidInputException(`tools.${index}`, `The tool "${name}" is listed twice.`)
    names.add(name)
  }
}

/**
 * The runtime of an agent version (or of a plain catalog-model call): 422 when none of its
 * models is in the tenant's catalog (platform models and its own, never another tenant's).
 */
export async function agentRuntime(
  tenantId: string,
  source:
    | { version: AgentVersion; slug: string | null }
    | { model: string; maxTokens?: number; temperature?: number | null; tools?: unknown[] },
  metadata?: Record<string, unknown>
): Promise<AgentRuntime> {
  const config =
    'version' in source
      ? {
          agentId: source.version.agentId,
          slug: source.slug,
          model: source.version.model,
          fallbacks: source.version.fallbackModels,
          instructions: source.version.instructions,
          maxTokens: source.version.maxTokens,
          temperature: source.version.temperature,
          tools: source.version.tools,
          maxSteps: source.version.maxSteps ?? DEFAULT_MAX_STEPS,
          knowledge: source.version.knowledge ?? null,
          metadata: source.version.metadata,
        }
      : {
          agentId: null,
          slug: null,
          model: source.model,
          fallbacks: [] as string[],
          instructions: '',
          maxTokens: source.maxTokens ?? 1024,
          temperature: source.temperature ?? null,
          tools: source.tools ?? [],
          maxSteps: 1,
          knowledge: null,
          metadata: {} as Record<string, any>,
        }
  const models = await catalog(tenantId)
  const chain = [config.model, ...config.fallbacks]
    .map((name) => models.get(name))
    .filter(Boolean) as CatalogModel[]
  if (chain.length === 0)
    throw new InvalidInputException('model', `The model "${config.model}" is not in the catalog.`)

  const builtins: BuiltinToolName[] = []
  const handoffs: Record<string, string> = {}
  const offered: ToolDefinition[] = []
  const functions: unknown[] = []
  // Attached documents, or the tool listed alone (then it searches every document).
  const searches =
    'version' in source && (config.knowledge !== null || config.tools.includes(KNOWLEDGE_TOOL))
  if (searches) offered.push(KNOWLEDGE_DEFINITION)
  // A plain model call (OpenAI-compatible endpoint) passes the caller's tools through untouched.
  for (const tool of config.tools ?? []) {
    const slug = 'version' in source ? handoffSlug(tool) : null
    if (searches && tool === KNOWLEDGE_TOOL) continue
    if ('version' in source && typeof tool === 'string' && isBuiltinTool(tool)) {
      builtins.push(tool)
      offered.push(builtinToolDefinition(tool))
    } else if (slug) {
      const name = handoffToolName(slug)
      handoffs[name] = slug
      offered.push({
        name,
        description: `Hand the conversation over to the agent "${slug}", which answers from here on.`,
        parameters: {
          type: 'object',
          properties: {
            message: { type: 'string', description: 'What to ask the other agent.' },
          },
          additionalProperties: false,
        },
      })
    } else functions.push(tool)
  }
  offered.push(...(toolDefinitions(functions) ?? []))
  const simulate = {
    ...(config.metadata?.simulate ?? {}),
    ...((metadata?.simulate as object) ?? {}),
  } as SimulateOptions
  return {
    agentId: config.agentId,
    slug: config.slug,
    instructions: config.instructions,
    chain,
    maxTokens: config.maxTokens,
    temperature: config.temperature,
    tools: offered.length ? offered : undefined,
    builtins,
    handoffs,
    maxSteps: config.maxSteps,
    knowledge: searches ? (config.knowledge ?? { documents: 'all' }) : null,
    simulate: Object.keys(simulate).length ? simulate : undefined,
  }
}

/** The runtime of another agent of the tenant by slug (a handoff, a workflow step); null when gone. */
export async function agentRuntimeBySlug(
  tenantId: string,
  slug: string,
  metadata?: Record<string, unknown>
) {
  const found = await agentForRun(tenantId, slug)
  if (!found) return null
  return agentRuntime(tenantId, { version: found.version, slug: found.agent.slug }, metadata)
}

/**
 * The worst case of one model call (CONTRACT.md): est_input = UTF-8 bytes of everything sent
 * / 3, priced at the highest input and output prices of the chain, max_tokens of output.
 * 422 when the estimate exceeds the first model's context window.
 */
export function worstCase(runtime: AgentRuntime, messages: ChatMessage[]) {
  const estInputTokens = estimateHoldTokens(messages, runtime.tools)
  const window = runtime.chain[0].contextWindow
  if (window > 0 && estInputTokens > window) {
    throw new InvalidInputException(
      'input',
      `The request is too long for ${runtime.chain[0].name}: about ${estInputTokens} tokens ` +
        `against a context window of ${window}.`
    )
  }
  const worst = {
    inputPrice: runtime.chain.reduce((max, m) => (m.inputPrice > max ? m.inputPrice : max), 0n),
    outputPrice: runtime.chain.reduce((max, m) => (m.outputPrice > max ? m.outputPrice : max), 0n),
  }
  const micros = costMicros(estInputTokens, runtime.maxTokens, worst)
  // A hold is never zero, even for free models (a tenant's own key priced at 0).
  return { estInputTokens, micros: micros > 1n ? micros : 1n }
}

/** The system prompt (when the agent has instructions) followed by `messages`. */
export function withInstructions(runtime: AgentRuntime, messages: ChatMessage[]): ChatMessage[] {
  return runtime.instructions
    ? [{ role: 'system', content: runtime.instructions }, ...messages]
    : messages
}

/** CONTRACT.md's conservative input estimate: UTF-8 bytes of everything sent / 3. */
export function estimateHoldTokens(messages: ChatMessage[], tools?: ToolDefinition[]) {
  let bytes = 0
  for (const message of messages) {
    bytes += Buffer.byteLength(message.content, 'utf8')
    if (message.role === 'assistant')
      for (const call of message.toolCalls ?? [])
        bytes += Buffer.byteLength(call.name + call.arguments, 'utf8')
  }
  if (tools?.length) bytes += Buffer.byteLength(JSON.stringify(tools), 'utf8')
  return Math.ceil(bytes / 3)
}

/**
 * Function definitions from tool entries. Accepted shapes: OpenAI's
 * `{type: "function", function: {name, description, parameters}}`, a bare `{name, description,
 * parameters}` or Anthropic's `{name, description, input_schema}`; anything else is ignored.
 */
export function toolDefinitions(tools: unknown[] | null | undefined): ToolDefinition[] | undefined {
  const out: ToolDefinition[] = []
  for (const tool of tools ?? []) {
    if (!tool || typeof tool !== 'object') continue
    const raw = tool as Record<string, any>
    const fn =
      raw.type === 'function' && raw.function && typeof raw.function === 'object'
        ? raw.function
        : raw
    if (typeof fn.name !== 'string' || !fn.name) continue
    out.push({
      name: fn.name,
      ...(typeof fn.description === 'string' ? { description: fn.description } : {}),
      ...(fn.parameters || fn.input_schema ? { parameters: fn.parameters ?? fn.input_schema } : {}),
    })
  }
  return out.length ? out : undefined
}
