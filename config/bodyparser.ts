import { defineConfig } from '@adonisjs/core/bodyparser'

/** Size limits answer 413; JSON bodies are parsed strictly (objects and arrays only). */
export default defineConfig({
  allowedMethods: ['POST', 'PUT', 'PATCH', 'DELETE'],
  form: {
    convertEmptyStringsToNull: true,
    types: ['application/x-www-form-urlencoded'],
    limit: '256kb',
  },
  json: {
    convertEmptyStringsToNull: false,
    types: [
      'application/json',
      'application/json-patch+json',
      'application/vnd.api+json',
      'application/csp-report',
      'application/merge-patch+json',
    ],
    limit: '1mb',
    strict: true,
  },
  raw: {
    types: ['text/*'],
    limit: '256kb',
  },
  // Multipart bodies are never parsed by themselves (nothing is streamed to disk): the edge
  // refuses them with 415 (input hygiene middleware) except on declared upload routes, which
  // read the one file they expect into memory, bounded (knowledge documents).
  multipart: {
    autoProcess: false,
    convertEmptyStringsToNull: true,
    processManually: [],
    limit: '11mb',
    types: ['multipart/form-data'],
  },
})
