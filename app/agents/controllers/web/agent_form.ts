import vine, { errors as vineErrors } from '@vinejs/vine'
import { findUnsafeInput, slug } from '#core'
import Agent from '#agents/models/agent'
import type AgentVersion from '#agents/models/agent_version'
import { type AgentConfig } from '#agents/actions/save_agent'
import { catalog } from '#agents/services/catalog'
import { DEFAULT_MAX_STEPS, handoffSlug } from '#agents/services/agent_runtime'
import { BUILTIN_TOOL_NAMES, BUILTIN_TOOL_SUMMARIES, isBuiltinTool } from '#agents/tools/builtin'

/** What the agent form shows: the raw text the user typed (or the saved configuration). */
export type AgentFormValues = {
  name: string
  slug: string
  description: string
  instructions: string
  model: string
  fallback_models: string[]
  temperature: string
  max_tokens: string
  /** Checked built-in tools. */
  tools: string[]
  /** Slugs of the agents it may hand off to. */
  handoffs: string[]
  max_steps: string
  metadata: string
}

/** Field → messages, as components/field accepts them. */
export type FieldErrors = Record<string, string[]>

/** The validated form, ready for createAgent/updateAgent. */
export type AgentFormInput = {
  name: string
  slug?: string
  description: string | null
  fallback_models: string[]
  temperature: number | null
  max_tokens?: number
  /** Built-ins, then handoffs: what the form manages of the agent's `tools`. */
  tools: unknown[]
  max_steps?: number
} & Pick<AgentConfig, 'instructions' | 'model' | 'metadata'>

const formValidator = vine.create({
  name: vine.string().trim().minLength(1).maxLength(120),
  slug: slug().optional(),
  description: vine.string().trim().maxLength(2000).optional(),
  instructions: vine.string().trim().minLength(1).maxLength(100_000),
  model: vine.string().trim().minLength(1).maxLength(200),
  fallback_models: vine
    .array(vine.string().trim().minLength(1).maxLength(200))
    .maxLength(5)
    .optional(),
  temperature: vine.number().min(0).max(2).optional(),
  max_tokens: vine.number().withoutDecimals().min(1).max(32_000).optional(),
  tools: vine.array(vine.enum(BUILTIN_TOOL_NAMES)).distinct().optional(),
  handoffs: vine.array(slug()).maxLength(50).distinct().optional(),
  max_steps: vine.number().withoutDecimals().min(1).max(50).optional(),
  metadata: vine.string().maxLength(20_000).optional(),
})

const MESSAGES: Record<string, string> = {
  temperature: 'Enter a number from 0 to 2, or leave it empty for the model default.',
  max_tokens: 'Enter a whole number from 1 to 32000.',
  fallback_models: 'Choose at most 5 fallback models from the list.',
  tools: 'Choose tools from the list.',
  handoffs: 'Choose at most 50 agents from the list.',
  max_steps: 'Enter a whole number from 1 to 50.',
}

function text(value: unknown) {
  if (value === null || value === undefined) return ''
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : ''
}

/** A multi-valued field (`name[]`): one value arrives as a string, none as nothing. */
function list(value: unknown) {
  return (Array.isArray(value) ? value : value ? [value] : []).map(text).filter(Boolean)
}

/** The raw request body as form values (anything unexpected becomes empty, never a crash). */
export function formValues(body: Record<string, unknown>): AgentFormValues {
  return {
    name: text(body.name),
    slug: text(body.slug),
    description: text(body.description),
    instructions: text(body.instructions),
    model: text(body.model),
    fallback_models: list(body.fallback_models),
    temperature: text(body.temperature),
    max_tokens: text(body.max_tokens),
    tools: list(body.tools),
    handoffs: list(body.handoffs),
    max_steps: text(body.max_steps),
    metadata: text(body.metadata),
  }
}

/** Form values for an existing agent: its fields and its current version's configuration. */
export function valuesOf(agent: Agent, version: AgentVersion): AgentFormValues {
  return {
    name: agent.name,
    slug: agent.slug,
    description: agent.description ?? '',
    instructions: version.instructions,
    model: version.model,
    fallback_models: version.fallbackModels,
    temperature: version.temperature === null ? '' : String(version.temperature),
    max_tokens: String(version.maxTokens),
    tools: version.tools.filter(
      (tool): tool is string => typeof tool === 'string' && isBuiltinTool(tool)
    ),
    handoffs: version.tools.map(handoffSlug).filter((slug): slug is string => slug !== null),
    max_steps: String(version.maxSteps),
    metadata: Object.keys(version.metadata ?? {}).length
      ? JSON.stringify(version.metadata, null, 2)
      : '',
  }
}

/** Values for a new agent. */
export function blankValues(): AgentFormValues {
  return {
    name: '',
    slug: '',
    description: '',
    instructions: '',
    model: 'simulator/echo',
    fallback_models: [],
    temperature: '',
    max_tokens: '1024',
    tools: [],
    handoffs: [],
    max_steps: String(DEFAULT_MAX_STEPS),
    metadata: '',
  }
}

/** Validates the form; throws a validation error listing every invalid field at once. */
export async function validateAgentForm(values: AgentFormValues): Promise<AgentFormInput> {
  const optional = (value: string) => (value.trim() === '' ? undefined : value)
  const fieldErrors: FieldErrors = {}
  const metadata = parseMetadata(values.metadata)
  if (typeof metadata === 'string') fieldErrors.metadata = [metadata]
  const [invalid, input] = await formValidator.tryValidate({
    name: values.name,
    slug: optional(values.slug),
    description: optional(values.description),
    instructions: values.instructions,
    model: values.model,
    fallback_models: values.fallback_models,
    temperature: optional(values.temperature),
    max_tokens: optional(values.max_tokens),
    tools: values.tools,
    handoffs: values.handoffs,
    max_steps: optional(values.max_steps),
    metadata: optional(values.metadata),
  })
  for (const entry of (invalid?.messages ?? []) as { field: string; message: string }[]) {
    const field = entry.field.split('.')[0]
    fieldErrors[field] ??= [MESSAGES[field] ?? entry.message]
  }
  if (!input || typeof metadata === 'string')
    throw new vineErrors.E_VALIDATION_ERROR(
      Object.entries(fieldErrors).map(([field, [message]]) => ({ field, message }))
    )
  return {
    name: input.name,
    slug: input.slug,
    description: input.description ?? null,
    instructions: input.instructions,
    model: input.model,
    fallback_models: input.fallback_models ?? [],
    temperature: input.temperature ?? null,
    max_tokens: input.max_tokens,
    tools: [
      ...BUILTIN_TOOL_NAMES.filter((name) => input.tools?.includes(name)),
      ...(input.handoffs ?? []).map((agent) => ({ type: 'agent', agent })),
    ],
    max_steps: input.max_steps,
    metadata,
  }
}

/**
 * The entries of an agent's `tools` the form does not manage (function definitions set through
 * the API), kept as they are when the form is saved.
 */
export function unmanagedTools(tools: unknown[]) {
  // Strings are built-in names (the form's own); objects of type "agent" are handoffs.
  return tools.filter(
    (tool) => tool !== null && typeof tool === 'object' && (tool as any).type !== 'agent'
  )
}

/** The names of unmanaged function definitions, for the form and the show page. */
export function functionNames(tools: unknown[]) {
  return unmanagedTools(tools).map((tool) => {
    const raw = tool as Record<string, any> | null
    const name = raw?.function?.name ?? raw?.name
    return typeof name === 'string' ? name : '(unnamed)'
  })
}

/** The built-in tools as checkbox options. */
export function builtinToolOptions() {
  return BUILTIN_TOOL_NAMES.map((name) => ({ value: name, summary: BUILTIN_TOOL_SUMMARIES[name] }))
}

/**
 * The agents this one may hand off to (the workspace's others), plus any handoff it already has
 * whose agent is gone, so the form can show and remove it.
 */
export async function handoffOptions(tenantId: string, selfId: string | null, chosen: string[]) {
  const query = Agent.query()
    .where('tenantId', tenantId)
    .whereNull('deletedAt')
    .orderBy('name')
    .limit(500)
  if (selfId) query.whereNot('id', selfId)
  const options = (await query).map((agent) => ({ value: agent.slug, label: agent.name }))
  for (const slug of chosen) {
    if (!options.some((option) => option.value === slug))
      options.push({ value: slug, label: `${slug} (no such agent)` })
  }
  return options
}

/** The metadata JSON object (empty text → {}), or the message saying what is wrong with it. */
function parseMetadata(text: string): Record<string, unknown> | string {
  if (text.trim() === '') return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return 'Enter a JSON object, e.g. {"simulate": {"latency_ms": 2000}}.'
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return 'Metadata must be a JSON object.'
  // The edge saw only the text: escapes such as \u0000 are decoded here.
  const unsafe = findUnsafeInput(parsed, 'metadata')
  return unsafe ? `${unsafe.field}: ${unsafe.message}` : (parsed as Record<string, unknown>)
}

/** The catalog as select options. */
export async function modelOptions(tenantId: string) {
  return [...(await catalog(tenantId)).values()]
    .map((model) => ({ value: model.name, label: `${model.name} (${model.providerSlug})` }))
    .sort((a, b) => a.value.localeCompare(b.value))
}
