import vine, { VineObject } from '@vinejs/vine'
import { PAGE_QUERY } from '#core/pagination'
import { openAiErrorSchema, problemSchema, statusTitle } from '#core/problem'

/**
 * The served OpenAPI 3.1 document. Core provides the skeleton (info, security, the error
 * shapes) and one way to describe an operation; each module describes its own routes with the
 * VineJS validators and DTO schemas its code uses, so the document cannot drift from the code.
 */
type Json = Record<string, unknown>

/** A VineJS schema or compiled validator: both describe themselves as JSON Schema. */
export type Describable = { toJSONSchema(): unknown }

/** A component name (`'Run'`), a VineJS schema or validator, or plain JSON Schema. */
export type ApiSchema = string | Describable | Json

export type ApiResponse = {
  description: string
  /** The JSON body. */
  json?: ApiSchema
  /** A Server-Sent Events stream; the text names its events (checked for status and type only). */
  eventStream?: string
  /** Response headers worth knowing: name → description. */
  headers?: Record<string, string>
}

export type ApiOperation = {
  /** The route's name, used as the operationId. */
  name: string
  summary: string
  description?: string
  /** The token ability it needs; null when any valid token will do. */
  ability: string | null
  /** Needs no token at all. */
  public?: boolean
  /** Descriptions of the path's `:params` (each is a string). */
  params?: Record<string, string>
  /** The query string as an object schema: one parameter per property. */
  query?: Describable | Json
  /** A list paged with `?limit=` and `?cursor=` (pageParams). */
  paged?: boolean
  /** Request headers it reads: name → description. */
  headers?: Record<string, string>
  /** The JSON request body. */
  body?: ApiSchema
  responses: Record<number, ApiResponse>
  /** Error statuses beyond those every operation of its kind may answer. */
  errors?: number[]
  /** Error bodies: problem documents, or OpenAI's shape on the OpenAI-compatible endpoints. */
  errorShape?: 'problem' | 'openai'
}

export const API_PREFIX = '/api/v1'

const operations: { method: string; path: string; operation: ApiOperation }[] = []
const schemas = new Map<string, ApiSchema>([
  ['Problem', problemSchema],
  ['OpenAiError', openAiErrorSchema],
])
let built: Json | null = null

/** Adds a named schema under components.schemas (operations refer to it by name). */
export function addApiSchema(name: string, schema: Describable | Json) {
  schemas.set(name, schema)
  built = null
}

/** Describes one route; `path` is its pattern below /api/v1 (`/agents/:idOrSlug`). */
export function addApiOperation(
  method: 'get' | 'post' | 'put' | 'patch' | 'delete',
  path: string,
  operation: ApiOperation
) {
  operations.push({ method, path, operation })
  built = null
}

export function openApiDocument() {
  return (built ??= build())
}

/** A route pattern below /api/v1 (`/agents/:idOrSlug`) as an OpenAPI path (`/agents/{idOrSlug}`). */
export function openApiPath(pattern: string) {
  return pattern.replace(/:(\w+)/g, '{$1}')
}

/** An ISO 8601 timestamp in a response schema. */
export const dateTimeSchema = () => vine.string().meta({ format: 'date-time' })

// vine.any() describes itself as "not null", but stored JSON (metadata, tool calls) may hold
// nulls: a response's free-form containers say so with `.meta(FREE_OBJECT)` / `.meta(FREE_ARRAY)`.
/** Meta for `vine.record(vine.any())` in a response: any JSON values, null included. */
export const FREE_OBJECT = { additionalProperties: true }
/** Meta for `vine.array(vine.any())` in a response: any JSON items, null included. */
export const FREE_ARRAY = { items: true }

/** A list response `{data, next_cursor}` of a named schema. */
export function pageSchema(item: string): Json {
  return {
    type: 'object',
    properties: {
      data: { type: 'array', items: ref(item) },
      next_cursor: { type: ['string', 'null'], description: 'null on the last page' },
    },
    required: ['data', 'next_cursor'],
    additionalProperties: false,
  }
}

// VineJS leaves a nullable field out of `required`, though it refuses the field when absent;
// response fields that are always present but may be null need it listed.
const vineObjectSchema = VineObject.prototype.toJSONSchema
VineObject.prototype.toJSONSchema = function (this: VineObject<any, any, any, any>) {
  const schema = vineObjectSchema.call(this) as Json
  const target = (Array.isArray(schema.anyOf) ? schema.anyOf.at(-1) : schema) as Json
  const properties = this.getProperties() as Record<
    string,
    Partial<Describable> & { isOptional?: boolean }
  >
  target.required = Object.entries(properties)
    .filter(([, property]) => property.toJSONSchema && property.isOptional !== true)
    .map(([name]) => name)
  return schema
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })

function toJsonSchema(schema: ApiSchema): Json {
  if (typeof schema === 'string') return ref(schema)
  if (typeof schema.toJSONSchema === 'function') return schema.toJSONSchema() as Json
  return schema as Json
}

function queryParameters(schema: Describable | Json) {
  const json = toJsonSchema(schema) as { properties?: Record<string, Json>; required?: string[] }
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: json.required?.includes(name) ?? false,
    description: property.description,
    schema: property,
  }))
}

/** What every operation of its kind may answer besides its own statuses. */
function errorStatuses(path: string, operation: ApiOperation) {
  // 422: input hygiene refuses a NUL byte or lone surrogate in any query string. 500: only a
  // fault of ours (the body names the request id).
  const statuses = new Set([...(operation.errors ?? []), 422, 500])
  if (!operation.public) for (const status of [401, 403, 429, 503]) statuses.add(status)
  if (operation.body) for (const status of [400, 413, 415]) statuses.add(status)
  if (path.includes(':')) statuses.add(404)
  return [...statuses].sort()
}

function errorResponse(status: number, shape: ApiOperation['errorShape']) {
  const [type, name] =
    shape === 'openai'
      ? ['application/json', 'OpenAiError']
      : ['application/problem+json', 'Problem']
  const headers: Json = {}
  const header = (description: string) => ({ description, schema: { type: 'string' } })
  if (status === 429 || status === 503) headers['Retry-After'] = header('Seconds to wait')
  if (shape === 'openai')
    headers['x-should-retry'] = header(
      '`false` for errors a retry cannot fix (OpenAI SDKs read it)'
    )
  return {
    description: statusTitle(status),
    headers: Object.keys(headers).length ? headers : undefined,
    content: { [type]: { schema: ref(name) } },
  }
}

function response(spec: ApiResponse): Json {
  const content: Json = {}
  if (spec.json) content['application/json'] = { schema: toJsonSchema(spec.json) }
  if (spec.eventStream)
    content['text/event-stream'] = { schema: { type: 'string', description: spec.eventStream } }
  return {
    description: spec.description,
    headers: spec.headers
      ? Object.fromEntries(
          Object.entries(spec.headers).map(([name, description]) => [
            name,
            { description, schema: { type: 'string' } },
          ])
        )
      : undefined,
    content: Object.keys(content).length ? content : undefined,
  }
}

function describe(path: string, operation: ApiOperation): Json {
  const parameters = [
    ...[...path.matchAll(/:(\w+)/g)].map(([, name]) => ({
      name,
      in: 'path',
      required: true,
      description: operation.params?.[name],
      schema: { type: 'string' },
    })),
    ...(operation.query ? queryParameters(operation.query) : []),
    ...(operation.paged ? queryParameters(PAGE_QUERY) : []),
    ...Object.entries(operation.headers ?? {}).map(([name, description]) => ({
      name,
      in: 'header',
      required: false,
      description,
      schema: { type: 'string' },
    })),
  ]
  const body = operation.body ? toJsonSchema(operation.body) : null
  const responses: Record<string, Json> = {}
  for (const [status, spec] of Object.entries(operation.responses))
    responses[status] = response(spec)
  for (const status of errorStatuses(path, operation))
    responses[status] ??= errorResponse(status, operation.errorShape)
  const ability = operation.ability && `Needs the \`${operation.ability}\` ability.`
  return {
    operationId: operation.name,
    tags: [operation.name.split('.')[0]],
    summary: operation.summary,
    description: [operation.description, ability].filter(Boolean).join(' ') || undefined,
    security: operation.public ? [] : undefined,
    parameters: parameters.length ? parameters : undefined,
    requestBody: body
      ? {
          required: Array.isArray(body.required) && body.required.length > 0,
          content: { 'application/json': { schema: body } },
        }
      : undefined,
    responses,
  }
}

/** A stable text of a JSON value (keys sorted), to find copies of a schema. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Json)[key])}`)
      .join(',')}}`
  return JSON.stringify(value)
}

/** Replaces each copy of a named object schema (VineJS inlines nested schemas) with a $ref. */
function factor(node: unknown, names: Map<string, string>, self?: string): unknown {
  if (Array.isArray(node)) return node.map((item) => factor(item, names))
  if (!node || typeof node !== 'object') return node
  const name = (node as Json).type === 'object' ? names.get(canonical(node)) : undefined
  if (name && name !== self) return ref(name)
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, factor(value, names)]))
}

function build(): Json {
  // Through JSON: drops the undefined members and shares no object with the sources.
  const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value))
  const components: Record<string, Json> = {}
  for (const [name, schema] of schemas) components[name] = plain(toJsonSchema(schema))
  const paths: Record<string, Record<string, Json>> = {}
  for (const { method, path, operation } of operations)
    (paths[openApiPath(path)] ??= {})[method] = plain(describe(path, operation))

  const names = new Map<string, string>()
  for (const [name, schema] of Object.entries(components))
    if (schema.type === 'object') names.set(canonical(schema), name)
  return {
    openapi: '3.1.0',
    info: {
      title: 'Agora API',
      version: '1.0.0',
      description:
        'Multi-tenant AI-agent platform. Authenticate with `Authorization: Bearer <token>`; ' +
        'errors are RFC 9457 problem documents.',
    },
    servers: [{ url: API_PREFIX }],
    security: [{ bearer: [] }],
    paths: factor(paths, names),
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: Object.fromEntries(
        Object.entries(components).map(([name, schema]) => [name, factor(schema, names, name)])
      ),
    },
  }
}

addApiOperation('get', '/openapi.json', {
  name: 'core.openapi.show',
  summary: 'This document',
  ability: null,
  public: true,
  responses: {
    200: {
      description: 'The OpenAPI 3.1 document',
      json: {
        type: 'object',
        properties: {
          openapi: { type: 'string', const: '3.1.0' },
          info: { type: 'object' },
          paths: { type: 'object' },
        },
        required: ['openapi', 'info', 'paths'],
      },
    },
  },
})
