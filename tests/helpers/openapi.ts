import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import type { ApiResponse } from '@japa/api-client'
import { API_PREFIX, openApiDocument } from '#core/openapi'

/*
 * Every /api/v1 response a test receives through the API client is checked against the served
 * OpenAPI document (tests/bootstrap.ts installs the hook): its status must be documented for
 * the operation, its content type among the documented ones, and a JSON body must match the
 * schema. A mismatch fails the test that made the request.
 */

type Json = Record<string, any>

/** What one request and its response were. */
export type Exchange = {
  method: string
  url: string
  status: number
  contentType: string
  body: unknown
  text: string
}

// ajv-formats is CommonJS: under NodeNext its default import is the module object.
const addFormats = ((addFormatsModule as any).default ?? addFormatsModule) as (ajv: Ajv2020) => void

const DOCUMENT_ID = 'urn:agora:openapi'

type Checker = {
  document: Json
  ajv: Ajv2020
  routes: { template: string; pattern: RegExp; item: Json }[]
  compiled: Map<string, ValidateFunction>
}
let checker: Checker | null = null
let checkedDocument: unknown = null

/** The document's schemas with references that resolve inside ajv (`#/components/schemas/X`). */
function resolvable(schema: unknown) {
  return JSON.parse(
    JSON.stringify(schema).replaceAll('"#/components/schemas/', `"${DOCUMENT_ID}#/$defs/`)
  )
}

/** A strict JSON Schema 2020-12 compiler holding the document's component schemas. */
export function documentAjv(document: Json = openApiDocument()) {
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true })
  addFormats(ajv)
  ajv.addSchema({ $id: DOCUMENT_ID, $defs: resolvable(document.components.schemas) })
  return ajv
}

/** Compiles a schema of the document (refs to its components resolve). */
export function compileDocumentSchema(ajv: Ajv2020, schema: unknown) {
  return ajv.compile(resolvable(schema))
}

function current(): Checker {
  const document = openApiDocument() as Json
  if (checker && checkedDocument === document) return checker
  checkedDocument = document
  const routes = Object.entries(document.paths as Record<string, Json>)
    .map(([template, item]) => ({
      template,
      item,
      pattern: new RegExp(
        `^${API_PREFIX}${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '[^/]+')}$`
      ),
    }))
    // Literal paths first: `/runs/{id}` must not shadow a literal sibling.
    .sort((a, b) => a.template.split('{').length - b.template.split('{').length)
  checker = { document, ajv: documentAjv(document), routes, compiled: new Map() }
  return checker
}

const excerpt = (text: string) => (text.length > 600 ? `${text.slice(0, 600)}…` : text)

/** Throws when the document does not describe the response; ignores what it does not cover. */
export function checkExchange(exchange: Exchange) {
  const { pathname } = new URL(exchange.url, 'http://localhost')
  const method = exchange.method.toLowerCase()
  if (!pathname.startsWith(`${API_PREFIX}/`) || method === 'head' || method === 'options') return
  const state = current()
  const route = state.routes.find((candidate) => candidate.pattern.test(pathname))
  // No such route (a 404 from the router, or a test-only probe): the route test covers real ones.
  const operation = route?.item[method] as Json | undefined
  if (!route || !operation) return
  const where = `${exchange.method.toUpperCase()} ${pathname} (OpenAPI: ${method} ${route.template})`
  const documented = operation.responses[String(exchange.status)] as Json | undefined
  if (!documented) {
    throw new Error(
      `${where} answered ${exchange.status}, which its OpenAPI operation does not list (${Object.keys(operation.responses).join(', ')}). Document the status in the module's openapi.ts, or fix the code.\nBody: ${excerpt(exchange.text)}`
    )
  }
  const type = exchange.contentType.split(';')[0].trim().toLowerCase()
  const content = documented.content as Record<string, Json> | undefined
  if (!content) {
    if (exchange.text !== '')
      throw new Error(
        `${where} answered ${exchange.status} with a body, where the document says none.\nBody: ${excerpt(exchange.text)}`
      )
    return
  }
  if (!content[type]) {
    throw new Error(
      `${where} answered ${exchange.status} as "${type || 'no content type'}", where the document says ${Object.keys(content).join(' or ')}.\nBody: ${excerpt(exchange.text)}`
    )
  }
  // A stream is checked for its status and type only.
  if (type === 'text/event-stream') return
  const key = `${method} ${route.template} ${exchange.status} ${type}`
  let validate = state.compiled.get(key)
  if (!validate) {
    validate = compileDocumentSchema(state.ajv, content[type].schema)
    state.compiled.set(key, validate)
  }
  if (!validate(exchange.body)) {
    const problems = (validate.errors ?? [])
      .map(
        (error) =>
          `  body${error.instancePath} ${error.message}${error.params && 'additionalProperty' in error.params ? ` (${error.params.additionalProperty})` : ''}`
      )
      .join('\n')
    throw new Error(
      `${where} answered ${exchange.status} with a body its OpenAPI schema refuses:\n${problems}\nFix the DTO's schema, or the code.\nBody: ${excerpt(exchange.text)}`
    )
  }
}

/** The API client's teardown hook: checks the response against the document. */
export function conformsToOpenApi(response: ApiResponse) {
  const { method, endpoint } = response.request.config
  checkExchange({
    method,
    url: endpoint,
    status: response.status(),
    contentType: response.header('content-type') ?? '',
    body: response.body(),
    text: response.text() ?? '',
  })
}
