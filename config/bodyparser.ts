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
  // No route takes files: multipart bodies are never parsed (nothing is streamed to disk) and
  // the edge refuses them with 415 (input hygiene middleware).
  multipart: {
    autoProcess: false,
    convertEmptyStringsToNull: true,
    processManually: [],
    limit: '1mb',
    types: [],
  },
})
