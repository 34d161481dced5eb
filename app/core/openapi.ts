/**
 * The served OpenAPI 3.1 document. Core provides the skeleton (info, security, the problem
 * schema); each module adds its paths and schemas from its routes file.
 */
type Json = Record<string, unknown>

const document = {
  openapi: '3.1.0',
  info: {
    title: 'Agora API',
    version: '1.0.0',
    description:
      'Multi-tenant AI-agent platform. Authenticate with `Authorization: Bearer <token>`; errors are RFC 9457 problem documents.',
  },
  servers: [{ url: '/api/v1' }],
  security: [{ bearer: [] }],
  paths: {} as Record<string, Json>,
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    schemas: {
      Problem: {
        type: 'object',
        required: ['type', 'title', 'status', 'detail'],
        properties: {
          type: { type: 'string' },
          title: { type: 'string' },
          status: { type: 'integer' },
          detail: { type: 'string' },
          request_id: { type: 'string' },
          errors: {
            type: 'array',
            items: {
              type: 'object',
              properties: { field: { type: 'string' }, message: { type: 'string' } },
            },
          },
        },
      },
    } as Record<string, Json>,
  },
}

/** Adds (or extends) the operations of one path, relative to /api/v1. */
export function addApiPath(path: string, operations: Json) {
  document.paths[path] = { ...document.paths[path], ...operations }
}

/** Adds a named schema under components.schemas. */
export function addApiSchema(name: string, schema: Json) {
  document.components.schemas[name] = schema
}

export function openApiDocument() {
  return document
}

addApiPath('/openapi.json', {
  get: {
    summary: 'This document',
    security: [],
    responses: { '200': { description: 'The OpenAPI 3.1 document' } },
  },
})
