/*
 * Environment variables: validated once at boot. A missing APP_KEY outside production is generated
 * into `.env` so that `npm install && npm run dev` needs no set-up.
 */
import { Env } from '@adonisjs/core/env'
import { ensureAppKey } from '#core/app_key'

const APP_ROOT = new URL('../', import.meta.url)
// Anything not started as production or test is development (`npm start` sets production).
process.env.NODE_ENV ??= 'development'
await ensureAppKey(APP_ROOT)

const env = await Env.create(APP_ROOT, {
  NODE_ENV: Env.schema.enum.optional(['development', 'production', 'test'] as const),
  PORT: Env.schema.number.optional(),
  HOST: Env.schema.string.optional({ format: 'host' }),
  APP_KEY: Env.schema.secret(),
  /** Keys APP_KEY replaced, comma-separated: they still decrypt until `secrets:rewrap` ran. */
  APP_KEY_PREVIOUS: Env.schema.string.optional(),
  APP_URL: Env.schema.string.optional({ format: 'url', tld: false }),
  LOG_LEVEL: Env.schema.enum.optional([
    'fatal',
    'error',
    'warn',
    'info',
    'debug',
    'trace',
    'silent',
  ] as const),
  /** `postgres://…`; unset = embedded PGlite under tmp/ (in memory under test). */
  DATABASE_URL: Env.schema.string.optional(),
  /** `redis://…`; unset = in-process stores. Read as a string: the url format rejects redis://. */
  REDIS_URL: Env.schema.string.optional(),
  SMTP_URL: Env.schema.string.optional(),
  /** Sender of outgoing mail; defaults to no-reply@<APP_URL host>. */
  MAIL_FROM: Env.schema.string.optional(),
  RUN_TIMEOUT_S: Env.schema.number.optional(),
  /** Proxies whose X-Forwarded-For is believed: comma-separated addresses/CIDRs; default loopback. */
  TRUSTED_PROXIES: Env.schema.string.optional(),
  /** Requests per minute per API token; run starts per minute per tenant (CONTRACT.md). */
  RATE_LIMIT_API_PER_MIN: Env.schema.number.optional(),
  RATE_LIMIT_RUNS_PER_MIN: Env.schema.number.optional(),
  SESSION_DRIVER: Env.schema.enum.optional(['cookie', 'memory', 'redis'] as const),
  /** Stripe Checkout (unset = Stripe off); the API base lets tests use a local fake. */
  STRIPE_SECRET_KEY: Env.schema.string.optional(),
  STRIPE_WEBHOOK_SECRET: Env.schema.string.optional(),
  STRIPE_API_BASE: Env.schema.string.optional(),
  /** Credit packs for sale, `id:credits:price_cents,…` (see config/credits.ts). */
  CREDIT_PACKS: Env.schema.string.optional(),
})

/*
 * Production sends mail over SMTP only: without SMTP_URL, sign-in, reset and invitation links
 * would sit in the development mailbox (a database table) instead of reaching anyone. The code
 * marks a configuration refusal, which bin/server.ts and bin/console.ts print as one line.
 */
if (env.get('NODE_ENV') === 'production' && !env.get('SMTP_URL')) {
  throw Object.assign(
    new Error(
      'SMTP_URL is required when NODE_ENV=production (smtp://user:pass@host:port): ' +
        'production never keeps mail in the development mailbox.'
    ),
    { code: 'E_MISSING_CONFIGURATION' }
  )
}

export default env
