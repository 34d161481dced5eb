import { defineConfig } from '@adonisjs/static'

/** Serves public/ (our CSS/JS and the vendored htmx/Alpine copies made at start-up). */
export default defineConfig({
  enabled: true,
  etag: true,
  lastModified: true,
  dotFiles: 'ignore',
  immutable: false,
  maxAge: '1h',
})
