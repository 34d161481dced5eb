import { test } from '@japa/runner'
import router from '@adonisjs/core/services/router'
import { Validator } from '@seriousme/openapi-schema-validator'
import { API_PREFIX, openApiDocument, openApiPath } from '#core/openapi'
import { checkExchange, compileDocumentSchema, documentAjv } from '#tests/helpers/openapi'
import { createAgentValidator } from '#agents/validators/agents'
import { agentSchema } from '#agents/dtos/agent'

/*
 * The OpenAPI document (issue 13): valid OpenAPI 3.1, one operation for every /api/v1 route,
 * schemas generated from the validators and DTO schemas the code uses. tests/bootstrap.ts checks
 * every API response of the suite against it (tests/helpers/openapi.ts).
 */

type Json = Record<string, any>
const METHODS = ['get', 'post', 'put', 'patch', 'delete']

/** Every /api/v1 route the router serves (test-only probes excluded), as method + OpenAPI path. */
function apiRoutes() {
  return Object.values(router.toJSON())
    .flat()
    .filter(
      (route) =>
        route.pattern.startsWith(`${API_PREFIX}/`) &&
        !route.pattern.startsWith(`${API_PREFIX}/__probe`)
    )
    .flatMap((route) =>
      route.methods
        .map((method) => method.toLowerCase())
        .filter((method) => METHODS.includes(method))
        .map((method) => ({
          method,
          path: openApiPath(route.pattern.slice(API_PREFIX.length)),
          name: route.name,
        }))
    )
}

/** Every schema the document holds: components, bodies, parameters, responses. */
function everySchema(document: Json) {
  const found: { where: string; schema: unknown }[] = Object.entries(
    document.components.schemas
  ).map(([name, schema]) => ({ where: `components.schemas.${name}`, schema }))
  for (const [path, item] of Object.entries(document.paths as Record<string, Json>)) {
    for (const [method, operation] of Object.entries(item as Record<string, Json>)) {
      const where = `${method} ${path}`
      for (const parameter of operation.parameters ?? [])
        found.push({ where: `${where} parameter ${parameter.name}`, schema: parameter.schema })
      for (const [type, media] of Object.entries(operation.requestBody?.content ?? {}))
        found.push({ where: `${where} body ${type}`, schema: (media as Json).schema })
      for (const [status, response] of Object.entries(operation.responses as Record<string, Json>))
        for (const [type, media] of Object.entries(response.content ?? {}))
          found.push({ where: `${where} ${status} ${type}`, schema: (media as Json).schema })
    }
  }
  return found
}

test.group('core / OpenAPI document', () => {
  test('the served document passes an OpenAPI 3.1 validator', async ({ client, assert }) => {
    const response = await client.get('/api/v1/openapi.json')
    response.assertStatus(200)
    const document = response.body()
    assert.equal(document.openapi, '3.1.0')
    const result = await new Validator().validate(structuredClone(document))
    assert.isTrue(result.valid, JSON.stringify(result.errors, null, 2))
    // The validator bites: a response without its required description is refused.
    const broken = structuredClone(document)
    delete broken.paths['/me'].get.responses['200'].description
    assert.isFalse((await new Validator().validate(broken)).valid)
  })

  test('every schema in it compiles as strict JSON Schema 2020-12', async ({ assert }) => {
    const document = openApiDocument() as Json
    const ajv = documentAjv(document)
    const failures: string[] = []
    for (const { where, schema } of everySchema(document)) {
      try {
        compileDocumentSchema(ajv, schema)
      } catch (error) {
        failures.push(`${where}: ${(error as Error).message}`)
      }
    }
    assert.deepEqual(failures, [])
  })

  test('every /api/v1 route has an operation named after it, and every operation a route', async ({
    assert,
  }) => {
    const document = openApiDocument() as Json
    const routes = apiRoutes()
    assert.isAbove(routes.length, 20)
    const undocumented = routes
      .filter(({ method, path }) => !document.paths[path]?.[method])
      .map(({ method, path }) => `${method.toUpperCase()} ${path}`)
    assert.deepEqual(undocumented, [], 'routes under /api/v1 without an OpenAPI operation')
    const misnamed = routes
      .filter(({ method, path, name }) => document.paths[path][method].operationId !== name)
      .map(({ method, path, name }) => `${method.toUpperCase()} ${path} is the route ${name}`)
    assert.deepEqual(misnamed, [])
    const served = new Set(routes.map(({ method, path }) => `${method} ${path}`))
    const stale = Object.entries(document.paths as Record<string, Json>).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((method) => !served.has(`${method} ${path}`))
        .map((method) => `${method.toUpperCase()} ${path}`)
    )
    assert.deepEqual(stale, [], 'OpenAPI operations without a route')
  })

  test('bodies and responses come from the validators and DTO schemas the code uses', async ({
    assert,
  }) => {
    const document = openApiDocument() as Json
    const store = document.paths['/agents'].post
    assert.deepEqual(
      store.requestBody.content['application/json'].schema,
      createAgentValidator.toJSONSchema()
    )
    assert.deepEqual(store.responses['201'].content['application/json'].schema, {
      $ref: '#/components/schemas/Agent',
    })
    assert.sameMembers(
      Object.keys(document.components.schemas.Agent.properties),
      Object.keys(agentSchema.getProperties())
    )
    // A nested copy of a named schema becomes a reference to it.
    assert.deepEqual(document.components.schemas.Run.properties.error, {
      $ref: '#/components/schemas/Problem',
    })
    // Errors are problem documents.
    assert.deepEqual(store.responses['422'].content['application/problem+json'].schema, {
      $ref: '#/components/schemas/Problem',
    })
  })

  test('a nullable response field is required (always present, maybe null)', async ({ assert }) => {
    const run = (openApiDocument() as Json).components.schemas.Run
    assert.includeMembers(run.required, ['thread_id', 'finished_at', 'agent_id'])
    assert.notInclude(run.required, 'steps')
    assert.deepEqual(run.properties.thread_id.type, ['string', 'null'])
  })
})

test.group('core / OpenAPI conformance check of API responses', () => {
  const agent = {
    id: 'a1',
    slug: 'echo',
    name: 'Echo',
    description: null,
    visibility: 'private',
    version: 1,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
  }
  const exchange = (overrides: Partial<Parameters<typeof checkExchange>[0]>) => ({
    method: 'GET',
    url: '/api/v1/agents/echo',
    status: 200,
    contentType: 'application/json; charset=utf-8',
    body: agent,
    text: JSON.stringify(agent),
    ...overrides,
  })

  test('a documented response passes', async ({ assert }) => {
    assert.doesNotThrow(() => checkExchange(exchange({})))
  })

  test('an undocumented status fails, naming it', async ({ assert }) => {
    assert.throws(() => checkExchange(exchange({ status: 418 })), /answered 418/)
  })

  test('a body the schema refuses fails, naming the field', async ({ assert }) => {
    const { slug: _slug, ...withoutSlug } = agent
    assert.throws(
      () => checkExchange(exchange({ body: withoutSlug })),
      /must have required property 'slug'/
    )
    assert.throws(
      () => checkExchange(exchange({ body: { ...agent, secret: 'x' } })),
      /must NOT have additional properties \(secret\)/
    )
  })

  test('an error must be a problem document', async ({ assert }) => {
    assert.throws(
      () =>
        checkExchange(exchange({ status: 404, body: { message: 'no' }, text: '{"message":"no"}' })),
      /as "application\/json", where the document says application\/problem\+json/
    )
  })

  test('a stream is checked for its status and content type only', async ({ assert }) => {
    const stream = exchange({
      url: '/api/v1/runs/r1/events',
      contentType: 'text/event-stream',
      body: {},
      text: 'event: run\ndata: {}\n\n',
    })
    assert.doesNotThrow(() => checkExchange(stream))
    assert.throws(() => checkExchange({ ...stream, contentType: 'text/plain' }), /text\/plain/)
  })

  test('paths the document does not cover are left alone', async ({ assert }) => {
    assert.doesNotThrow(() => checkExchange(exchange({ url: '/api/v1/__probe/echo', status: 418 })))
    assert.doesNotThrow(() => checkExchange(exchange({ url: '/t/acme/agents', status: 418 })))
  })
})
