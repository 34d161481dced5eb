import env from '#start/env'
import app from '@adonisjs/core/services/app'
import { defineConfig } from '@adonisjs/core/http'
import { randomUUID } from 'node:crypto'
import proxyAddr from 'proxy-addr'

/** Public base URL; its host is the tenant root domain (`<slug>.<host>`). */
export const appUrl = env.get('APP_URL', `http://localhost:${env.get('PORT', 3333)}`)

export const http = defineConfig({
  generateRequestId: true,
  createRequestId: () => randomUUID(),
  allowMethodSpoofing: true,
  useAsyncLocalStorage: true,
  // X-Forwarded-* is believed only from these proxies (TRUSTED_PROXIES: addresses, CIDRs or
  // proxy-addr names such as `loopback`, `uniquelocal`), so limits see the client's address.
  trustProxy: proxyAddr.compile(
    env
      .get('TRUSTED_PROXIES', 'loopback')
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean)
  ),
  cookie: {
    domain: '',
    path: '/',
    maxAge: '2h',
    httpOnly: true,
    secure: app.inProduction,
    sameSite: 'lax',
  },
})
