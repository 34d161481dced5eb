import env from '#start/env'
import app from '@adonisjs/core/services/app'
import { defineConfig, stores } from '@adonisjs/session'
import { redisUrl } from '#config/redis_url'
import { CookieSessionStore } from '#core/cookie_session_store'

export const SESSION_COOKIE = 'agora-session'

/** Sessions live in Redis when configured (N web processes), else in a signed, encrypted cookie. */
export default defineConfig({
  enabled: true,
  cookieName: SESSION_COOKIE,
  clearWithBrowser: false,
  age: '2h',
  cookie: {
    path: '/',
    httpOnly: true,
    secure: app.inProduction,
    sameSite: 'lax',
  },
  store: env.get('SESSION_DRIVER', redisUrl ? 'redis' : 'cookie'),
  stores: {
    // The built-in cookie store's behaviour, re-encrypting an unchanged session at most every
    // tenth of its age (12 minutes); a cookie that ends with the browser needs no refresh.
    cookie: (ctx, { cookie }) =>
      new CookieSessionStore(ctx, cookie, cookie.maxAge ? Number(cookie.maxAge) * 100 : Infinity),
    redis: stores.redis({ connection: 'main' }),
  },
})
