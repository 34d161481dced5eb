import env from '#start/env'
import app from '@adonisjs/core/services/app'
import { defineConfig } from '@adonisjs/core/http'
import { randomUUID } from 'node:crypto'

/** Public base URL; its host is the tenant root domain (`<slug>.<host>`). */
export const appUrl = env.get('APP_URL', `http://localhost:${env.get('PORT', 3333)}`)

export const http = defineConfig({
  generateRequestId: true,
  createRequestId: () => randomUUID(),
  allowMethodSpoofing: true,
  useAsyncLocalStorage: true,
  // Trust X-Forwarded-* only from loopback (a local reverse proxy); set behind a load balancer.
  trustProxy: (address) => address === '127.0.0.1' || address === '::1',
  cookie: {
    domain: '',
    path: '/',
    maxAge: '2h',
    httpOnly: true,
    secure: app.inProduction,
    sameSite: 'lax',
  },
})
