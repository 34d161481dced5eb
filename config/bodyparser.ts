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
  multipart: {
    autoProcess: true,
    convertEmptyStringsToNull: true,
    processManually: [],
    limit: '20mb',
    types: ['multipart/form-data'],
  },
})
