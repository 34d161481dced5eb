import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import app from '@adonisjs/core/services/app'
import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'

const require = createRequire(import.meta.url)

/**
 * The app's own CSS/JS (resources/, no bundler) and the browser libraries from the installed
 * packages (never a CDN), at fixed URLs with ETags. Read once, except in development.
 */
const ASSETS: Record<string, { file: () => string; type: string }> = {
  '/assets/app.css': { file: () => app.makePath('resources/css/app.css'), type: 'text/css' },
  '/assets/app.js': { file: () => app.makePath('resources/js/app.js'), type: 'text/javascript' },
  '/assets/vendor/htmx.js': {
    file: () => require.resolve('htmx.org/dist/htmx.min.js'),
    type: 'text/javascript',
  },
  '/assets/vendor/hx-sse.js': {
    file: () => require.resolve('htmx.org/dist/ext/hx-sse.min.js'),
    type: 'text/javascript',
  },
  '/assets/vendor/alpine.js': {
    file: () => require.resolve('@alpinejs/csp/dist/cdn.min.js'),
    type: 'text/javascript',
  },
}

type Loaded = { body: Buffer; etag: string }
const cache = new Map<string, Promise<Loaded>>()

function load(url: string) {
  let asset = cache.get(url)
  if (!asset) {
    asset = readFile(ASSETS[url].file()).then((body) => ({
      body,
      etag: `"${createHash('sha1').update(body).digest('base64url')}"`,
    }))
    if (!app.inDev) cache.set(url, asset)
  }
  return asset
}

export default class AssetsMiddleware {
  async handle(ctx: HttpContext, next: NextFn) {
    const url = ctx.request.url()
    if (!(url in ASSETS) || !['GET', 'HEAD'].includes(ctx.request.method())) return next()
    const { body, etag } = await load(url)
    ctx.response.header('content-type', `${ASSETS[url].type}; charset=utf-8`)
    ctx.response.header('cache-control', app.inDev ? 'no-cache' : 'public, max-age=3600')
    ctx.response.header('etag', etag)
    if (ctx.request.header('if-none-match') === etag) return ctx.response.status(304).send('')
    return ctx.response.send(body)
  }
}
