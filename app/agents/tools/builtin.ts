import logger from '@adonisjs/core/services/logger'
import type { ToolDefinition } from '#agents/providers/types'
import { calculate } from '#agents/tools/calculator'
import { currentTime } from '#agents/tools/current_time'
import { httpRequest } from '#agents/tools/http_request'

/*
 * The built-in tools an agent may call. A tool's failure is an answer, not an exception: the
 * message goes back to the model so it can correct its call.
 */

/** What a tool may know about the run calling it. */
export type ToolContext = {
  tenantId: string
  /** The tenant's IANA time zone (current_time's default). */
  timeZone: string
  /** Hosts http_request may reach: `host`, `*.host` (any subdomain), optionally `:port`. */
  allowedHosts: string[]
  /** Ends the tool's work when the run is cancelled or times out. */
  signal: AbortSignal
}

export type ToolResult = { ok: true; output: unknown } | { ok: false; error: string }

/** A failure whose message is meant for the model (bad input, refusal, network trouble). */
export class ToolError extends Error {}

export const BUILTIN_TOOL_NAMES = ['calculator', 'current_time', 'http_request'] as const
export type BuiltinToolName = (typeof BUILTIN_TOOL_NAMES)[number]

/** One line per built-in tool, for people (the model reads builtinToolDefinition). */
export const BUILTIN_TOOL_SUMMARIES: Record<BuiltinToolName, string> = {
  calculator: 'Evaluates arithmetic exactly (+ - * / ^, sqrt, log, sin…), so the model need not.',
  current_time: "Tells the current date and time, in the workspace's time zone or another.",
  http_request: "Sends GET or POST requests, only to the hosts on the workspace's allow-list.",
}

/** Longest arguments text a model may send (bytes). */
export const MAX_ARGUMENTS_BYTES = 64 * 1024

/** The subset of JSON Schema our tools use (and validate by hand). */
type PropertySchema =
  | { type: 'string'; description: string; enum?: readonly string[] }
  | {
      type: 'object'
      description: string
      additionalProperties: { type: 'string' }
    }

type ToolSpec = {
  description: string
  properties: Record<string, PropertySchema>
  required: string[]
  run: (args: Record<string, any>, ctx: ToolContext) => unknown
}

// Built lazily: the tool modules import ToolError from here, so they may not be evaluated yet.
function spec(name: BuiltinToolName): ToolSpec {
  switch (name) {
    case 'calculator':
      return {
        description:
          'Evaluates an arithmetic expression exactly as written and returns {result}. Supports ' +
          'numbers (1.5, 2e-3), + - * / % ^ (power), parentheses, the constants pi and e, and ' +
          'sqrt, abs, round, floor, ceil, min, max, log (natural), log10, exp, sin, cos, tan ' +
          '(radians). Use it for any calculation instead of doing arithmetic in your head.',
        properties: {
          expression: {
            type: 'string',
            description:
              'The expression, e.g. "(3 + 4) * 2 ^ 3 / sqrt(16)". At most 1000 characters.',
          },
        },
        required: ['expression'],
        run: (args) => calculate(args.expression),
      }
    case 'current_time':
      return {
        description:
          'Returns the current date and time as {iso, time_zone, weekday, unix}. Without ' +
          "time_zone it uses the workspace's time zone.",
        properties: {
          time_zone: {
            type: 'string',
            description: 'An IANA time zone such as "Europe/Paris", "America/New_York" or "UTC".',
          },
        },
        required: [],
        run: (args, ctx) => currentTime(args.time_zone, ctx),
      }
    case 'http_request':
      return {
        description:
          "Sends an HTTP GET or POST request to a host on this workspace's allow-list and returns " +
          '{status, content_type, body, truncated}. The body is returned as text, cut at 256 KB. ' +
          'At most 3 redirects are followed; the whole request times out after 10 seconds.',
        properties: {
          method: { type: 'string', enum: ['GET', 'POST'], description: 'Default GET.' },
          url: { type: 'string', description: 'An absolute http:// or https:// URL.' },
          headers: {
            type: 'object',
            additionalProperties: { type: 'string' },
            description: 'Request headers (Host, cookies and hop-by-hop headers are not sent).',
          },
          body: { type: 'string', description: 'The request body for POST (at most 64 KB).' },
        },
        required: ['url'],
        run: (args, ctx) => httpRequest(args as any, ctx),
      }
  }
}

/** Whether a tool name is one of the built-ins. */
export function isBuiltinTool(name: string): name is BuiltinToolName {
  return (BUILTIN_TOOL_NAMES as readonly string[]).includes(name)
}

/** The definition the model sees: name, description and a JSON Schema for the arguments. */
export function builtinToolDefinition(name: BuiltinToolName): ToolDefinition {
  const { description, properties, required } = spec(name)
  return {
    name,
    description,
    parameters: { type: 'object', properties, required, additionalProperties: false },
  }
}

const describe = (value: unknown) =>
  value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`

/** Checks arguments against a tool's schema; the message names the first problem. */
function validate(args: unknown, tool: ToolSpec): Record<string, unknown> {
  if (typeof args !== 'object' || args === null || Array.isArray(args))
    throw new ToolError(`The arguments must be a JSON object, not ${describe(args)}.`)
  const allowed = Object.keys(tool.properties)
  for (const key of Object.keys(args)) {
    if (!Object.hasOwn(tool.properties, key))
      throw new ToolError(
        `Unknown argument "${key}". ` +
          (allowed.length ? `Allowed arguments: ${allowed.join(', ')}.` : 'It takes none.')
      )
  }
  for (const key of tool.required) {
    if (!Object.hasOwn(args, key)) throw new ToolError(`Missing required argument "${key}".`)
  }
  for (const [key, value] of Object.entries(args)) {
    const schema = tool.properties[key]
    if (schema.type === 'string') {
      if (typeof value !== 'string')
        throw new ToolError(`Argument "${key}" must be a string, not ${describe(value)}.`)
      if (schema.enum && !schema.enum.includes(value))
        throw new ToolError(`Argument "${key}" must be one of ${schema.enum.join(', ')}.`)
    } else {
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        throw new ToolError(`Argument "${key}" must be an object, not ${describe(value)}.`)
      for (const [inner, innerValue] of Object.entries(value)) {
        if (typeof innerValue !== 'string')
          throw new ToolError(
            `Argument "${key}.${inner}" must be a string, not ${describe(innerValue)}.`
          )
      }
    }
  }
  return args as Record<string, unknown>
}

/**
 * Runs a built-in tool on the model's arguments text. Never throws: every failure, including an
 * unexpected one, comes back as `{ok: false, error}` for the model to read.
 */
export async function runBuiltinTool(
  name: BuiltinToolName,
  argumentsJson: string,
  ctx: ToolContext
): Promise<ToolResult> {
  try {
    if (!isBuiltinTool(name)) throw new ToolError(`There is no built-in tool named "${name}".`)
    const tool = spec(name)
    if (typeof argumentsJson !== 'string') throw new ToolError('The arguments must be JSON text.')
    if (Buffer.byteLength(argumentsJson) > MAX_ARGUMENTS_BYTES)
      throw new ToolError(`The arguments exceed ${MAX_ARGUMENTS_BYTES / 1024} KB.`)
    let parsed: unknown
    // Models sometimes send nothing for a tool whose arguments are all optional.
    if (argumentsJson.trim() === '') parsed = {}
    else {
      try {
        parsed = JSON.parse(argumentsJson)
      } catch (error: any) {
        throw new ToolError(`The arguments are not valid JSON: ${error?.message ?? error}`)
      }
    }
    const args = validate(parsed, tool)
    if (ctx.signal?.aborted) throw new ToolError('The run was cancelled before the tool ran.')
    return { ok: true, output: await tool.run(args, ctx) }
  } catch (error) {
    if (error instanceof ToolError) return { ok: false, error: error.message }
    logger.error({ err: error, tool: name, tenantId: ctx?.tenantId }, 'built-in tool failed')
    return { ok: false, error: `The ${name} tool failed unexpectedly; try again later.` }
  }
}
