import { createHmac, randomBytes, randomUUID } from 'node:crypto'
import dns from 'node:dns'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import db from '@adonisjs/lucid/services/db'
import encryption from '@adonisjs/core/services/encryption'
import logger from '@adonisjs/core/services/logger'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import { InvalidInputException, isPrivateAddress, registerSecretRewrap } from '#core'

/** The events a tenant may subscribe to (CONTRACT.md). */
export const WEBHOOK_EVENTS = [
  'run.finished',
  'credits.low',
  'budget.threshold',
  'eval.finished',
] as const
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number]

const SECRET_PURPOSE = 'webhook-secret'
/** After a rotation the previous secret keeps signing (a second v1) this long. */
export const ROTATION_OVERLAP_MS = 24 * 3600_000
/** Deliveries are retried with backoff for this long after the event, then marked failed. */
export const RETRY_WINDOW_MS = 24 * 3600_000
const TIMEOUT_MS = 10_000
const MAX_ENDPOINTS = 20
const CLAIM_LEASE_S = 60

export type WebhookEndpoint = {
  id: string
  tenantId: string
  url: string
  events: WebhookEvent[]
  createdAt: Date
  previousSecretExpiresAt: Date | null
}

const ENDPOINT_COLUMNS = 'id, tenant_id, url, events, created_at, previous_secret_expires_at'

const toEndpoint = (row: any): WebhookEndpoint => ({
  id: row.id,
  tenantId: row.tenant_id,
  url: row.url,
  events: row.events,
  createdAt: new Date(row.created_at),
  previousSecretExpiresAt: row.previous_secret_expires_at
    ? new Date(row.previous_secret_expires_at)
    : null,
})

function privateNetworksAllowed() {
  return process.env.WEBHOOK_ALLOW_PRIVATE_NETWORKS === 'true'
}

const newSecret = () => `whsec_${randomBytes(24).toString('base64url')}`

/**
 * Checks an endpoint URL: http(s), no credentials, at most 2000 characters, and — unless
 * WEBHOOK_ALLOW_PRIVATE_NETWORKS — not a private, loopback or link-local address (a literal
 * here; names are checked again on every delivery, after DNS).
 */
export function checkWebhookUrl(raw: unknown): string {
  const text = typeof raw === 'string' ? raw.trim() : ''
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new InvalidInputException('url', 'url must be an absolute http(s) URL.')
  }
  if (!['http:', 'https:'].includes(url.protocol))
    throw new InvalidInputException('url', 'url must be an absolute http(s) URL.')
  if (text.length > 2000) throw new InvalidInputException('url', 'url is too long.')
  if (url.username || url.password)
    throw new InvalidInputException('url', 'url must not carry credentials.')
  const host = url.hostname.replace(/^\[|\]$/g, '')
  if (
    !privateNetworksAllowed() &&
    (host === 'localhost' || host.endsWith('.localhost') || isPrivateAddress(host))
  )
    throw new InvalidInputException(
      'url',
      'url is on a private network, which webhooks may not reach.'
    )
  return url.toString()
}

export function checkWebhookEvents(raw: unknown): WebhookEvent[] {
  const list = Array.isArray(raw) ? raw : []
  const unknown = list.find((e) => !WEBHOOK_EVENTS.includes(e))
  if (!list.length || unknown !== undefined)
    throw new InvalidInputException(
      'events',
      `events must list one or more of ${WEBHOOK_EVENTS.join(', ')}.`
    )
  return [...new Set(list as WebhookEvent[])]
}

/** Creates an endpoint; returns it with its secret (shown to the caller once). */
export async function createWebhookEndpoint(
  trx: TransactionClientContract,
  input: { tenantId: string; url: unknown; events: unknown; actorId: string | null }
) {
  const url = checkWebhookUrl(input.url)
  const events = checkWebhookEvents(input.events)
  const count = await trx
    .from('webhook_endpoints')
    .where('tenant_id', input.tenantId)
    .count('* as n')
  if (Number(count[0].n) >= MAX_ENDPOINTS)
    throw new InvalidInputException('url', `A workspace has at most ${MAX_ENDPOINTS} endpoints.`)
  const secret = newSecret()
  const [row] = await trx
    .table('webhook_endpoints')
    .insert({
      tenant_id: input.tenantId,
      url,
      events,
      secret_encrypted: encryption.encrypt(secret, { purpose: SECRET_PURPOSE }),
      created_by: input.actorId,
    })
    .returning(ENDPOINT_COLUMNS.split(', '))
  forgetEndpoints(input.tenantId)
  return { endpoint: toEndpoint(row), secret }
}

/** A new secret; the previous one keeps signing for ROTATION_OVERLAP_MS. Returns the new secret. */
export async function rotateWebhookSecret(
  trx: TransactionClientContract,
  endpoint: WebhookEndpoint
) {
  const secret = newSecret()
  await trx.rawQuery(
    `UPDATE webhook_endpoints
        SET previous_secret_encrypted = secret_encrypted,
            previous_secret_expires_at = now() + make_interval(secs => ?),
            secret_encrypted = ?, updated_at = now()
      WHERE id = ? AND tenant_id = ?`,
    [
      ROTATION_OVERLAP_MS / 1000,
      encryption.encrypt(secret, { purpose: SECRET_PURPOSE }),
      endpoint.id,
      endpoint.tenantId,
    ]
  )
  return secret
}

export async function deleteWebhookEndpoint(
  trx: TransactionClientContract,
  endpoint: WebhookEndpoint
) {
  await trx
    .from('webhook_endpoints')
    .where('id', endpoint.id)
    .where('tenant_id', endpoint.tenantId)
    .delete()
  forgetEndpoints(endpoint.tenantId)
}

export async function listWebhookEndpoints(tenantId: string) {
  const rows = await db
    .from('webhook_endpoints')
    .where('tenant_id', tenantId)
    .orderBy('created_at')
    .select(ENDPOINT_COLUMNS.split(', '))
  return rows.map(toEndpoint)
}

/** A tenant's endpoint by the id in a URL, or null (another tenant's, or not an id). */
export async function findWebhookEndpoint(tenantId: string, id: unknown) {
  if (typeof id !== 'string' || !/^[0-9a-f-]{36}$/i.test(id)) return null
  const row = await db
    .from('webhook_endpoints')
    .where('tenant_id', tenantId)
    .where('id', id)
    .select(ENDPOINT_COLUMNS.split(', '))
    .first()
  return row ? toEndpoint(row) : null
}

export type WebhookDelivery = {
  id: string
  eventId: string
  eventType: string
  status: 'pending' | 'delivered' | 'failed'
  attempts: number
  nextAttemptAt: Date
  lastStatus: number | null
  lastError: string | null
  createdAt: Date
  deliveredAt: Date | null
}

const toDelivery = (row: any): WebhookDelivery => ({
  id: row.id,
  eventId: row.event_id,
  eventType: row.event_type,
  status: row.status,
  attempts: Number(row.attempts),
  nextAttemptAt: new Date(row.next_attempt_at),
  lastStatus: row.last_status === null ? null : Number(row.last_status),
  lastError: row.last_error,
  createdAt: new Date(row.created_at),
  deliveredAt: row.delivered_at ? new Date(row.delivered_at) : null,
})
const DELIVERY_COLUMNS = [
  'id',
  'event_id',
  'event_type',
  'status',
  'attempts',
  'next_attempt_at',
  'last_status',
  'last_error',
  'created_at',
  'delivered_at',
]

/** An endpoint's latest deliveries, newest first. */
export async function listWebhookDeliveries(endpoint: WebhookEndpoint, limit = 50) {
  const rows = await db
    .from('webhook_deliveries')
    .where('tenant_id', endpoint.tenantId)
    .where('endpoint_id', endpoint.id)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .select(DELIVERY_COLUMNS)
  return rows.map(toDelivery)
}

/**
 * Sends a delivery again (same event id: a receiver that deduplicates sees it once): it becomes
 * pending and due now, with a fresh retry window. Null when it is not the endpoint's.
 */
export async function redeliverWebhook(
  trx: TransactionClientContract,
  endpoint: WebhookEndpoint,
  deliveryId: unknown
) {
  if (typeof deliveryId !== 'string' || !/^[0-9a-f-]{36}$/i.test(deliveryId)) return null
  const result = await trx.rawQuery(
    `UPDATE webhook_deliveries
        SET status = 'pending', next_attempt_at = now(), attempts = 0, created_at = now(),
            delivered_at = NULL, last_error = NULL
      WHERE id = ? AND endpoint_id = ? AND tenant_id = ?
      RETURNING ${DELIVERY_COLUMNS.join(', ')}`,
    [deliveryId, endpoint.id, endpoint.tenantId]
  )
  if (!result.rows.length) return null
  kickDispatcher()
  return toDelivery(result.rows[0])
}

/* ------------------------------------------------------------------------- fan-out and sending */

type CachedEndpoints = { until: number; endpoints: { id: string; events: string[] }[] }
const cache = new Map<string, CachedEndpoints>()
const CACHE_MS = 10_000

function forgetEndpoints(tenantId: string) {
  cache.delete(tenantId)
}

async function subscribedEndpoints(tenantId: string, type: WebhookEvent) {
  let cached = cache.get(tenantId)
  if (!cached || cached.until < Date.now()) {
    const endpoints = await db
      .from('webhook_endpoints')
      .where('tenant_id', tenantId)
      .select('id', 'events')
    if (cache.size > 50_000) cache.clear()
    cached = { until: Date.now() + CACHE_MS, endpoints }
    cache.set(tenantId, cached)
  }
  return cached.endpoints.filter((e) => e.events.includes(type))
}

/**
 * Queues an event for every endpoint of the tenant subscribed to its type: one delivery row per
 * endpoint (the durable queue), then a nudge to the dispatcher. Endpoints are cached per process
 * for 10 s, so a new endpoint receives events within that. Never throws (logged).
 */
export async function emitWebhook(
  tenantId: string,
  type: WebhookEvent,
  data: Record<string, unknown>
) {
  try {
    const endpoints = await subscribedEndpoints(tenantId, type)
    if (!endpoints.length) return null
    const id = randomUUID()
    const payload = JSON.stringify({ id, type, created_at: new Date().toISOString(), data })
    await db.rawQuery(
      `INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, event_type, payload)
       SELECT ?, e, ?, ?, ? FROM unnest(?::uuid[]) AS e
       ON CONFLICT (endpoint_id, event_id) DO NOTHING`,
      [tenantId, id, type, payload, endpoints.map((e) => e.id)]
    )
    kickDispatcher()
    return id
  } catch (error) {
    logger.error({ err: error, tenantId, type }, 'queueing a webhook event failed')
    return null
  }
}

/** `Agora-Signature: t=<unix>,v1=<hex>[,v1=<hex of the previous secret>]`. */
export function signWebhook(body: string, secrets: string[], at = Math.floor(Date.now() / 1000)) {
  const signatures = secrets.map(
    (secret) => `v1=${createHmac('sha256', secret).update(`${at}.${body}`).digest('hex')}`
  )
  return `t=${at},${signatures.join(',')}`
}

/** Minutes until the next attempt after `attempts` failures: 30 s doubling, at most 1 h. */
export function retryDelayMs(attempts: number) {
  return Math.min(30_000 * 2 ** Math.max(0, attempts - 1), 3600_000)
}

let dispatching: Promise<number> | null = null
let again = false

/** Runs a dispatch pass soon (coalesced); the periodic pass catches anything missed. */
export function kickDispatcher() {
  if (!dispatcherEnabled) return
  setImmediate(() => void deliverDueWebhooks().catch(() => {}))
}
let dispatcherEnabled = false

/** Lets this process send deliveries as soon as they are queued (web and worker processes). */
export function enableWebhookDispatch() {
  dispatcherEnabled = true
}

/**
 * One pass: claims due deliveries (SKIP LOCKED, so processes share the work and none is sent
 * twice at once; a claim is a 60 s lease), sends each, and records the outcome. Returns how
 * many were attempted. Passes in one process never overlap.
 */
export async function deliverDueWebhooks(limit = 50): Promise<number> {
  if (dispatching) {
    again = true
    return dispatching
  }
  dispatching = (async () => {
    let total = 0
    do {
      again = false
      const claimed = await db.rawQuery(
        `UPDATE webhook_deliveries d
            SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => ?)
           FROM webhook_endpoints e
          WHERE d.id IN (SELECT id FROM webhook_deliveries
                          WHERE status = 'pending' AND next_attempt_at <= now()
                          ORDER BY next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED)
            AND e.id = d.endpoint_id
        RETURNING d.id, d.payload, d.attempts, d.created_at, e.url, e.secret_encrypted,
                  CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret_encrypted END
                    AS previous_secret_encrypted`,
        [CLAIM_LEASE_S, limit]
      )
      total += claimed.rows.length
      for (const result of await Promise.allSettled(claimed.rows.map((row: any) => attempt(row))))
        if (result.status === 'rejected')
          logger.error({ err: result.reason }, 'recording a webhook delivery failed')
    } while (again)
    return total
  })()
  try {
    return await dispatching
  } finally {
    dispatching = null
  }
}

async function attempt(row: any) {
  const secrets = [row.secret_encrypted, row.previous_secret_encrypted]
    .filter(Boolean)
    .map((sealed: string) => encryption.decrypt<string>(sealed, SECRET_PURPOSE))
    .filter((s): s is string => typeof s === 'string')
  let status: number | null = null
  let error: string | null = null
  if (!secrets.length) {
    // Never send unsigned: the secret was sealed with a key this process does not have.
    error = 'the signing secret cannot be decrypted (APP_KEY changed?): rotate the secret'
  } else {
    try {
      status = await post(row.url, row.payload, {
        'content-type': 'application/json',
        'user-agent': 'Agora-Webhooks/1',
        'agora-signature': signWebhook(row.payload, secrets),
      })
      if (status < 200 || status >= 300) error = `HTTP ${status}`
    } catch (caught) {
      error = (caught as Error).message.slice(0, 500)
    }
  }
  // Only this claim's outcome counts: a late answer to an expired claim changes nothing.
  const mine = `WHERE id = ? AND attempts = ? AND status = 'pending'`
  if (!error) {
    await db.rawQuery(
      `UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now(), last_status = ?,
              last_error = NULL ${mine}`,
      [status, row.id, row.attempts]
    )
    return
  }
  const giveUp = Date.now() - new Date(row.created_at).getTime() >= RETRY_WINDOW_MS
  await db.rawQuery(
    `UPDATE webhook_deliveries
        SET status = ?, last_status = ?, last_error = ?,
            next_attempt_at = now() + make_interval(secs => ?)
      ${mine}`,
    [
      giveUp ? 'failed' : 'pending',
      status,
      error,
      retryDelayMs(row.attempts) / 1000,
      row.id,
      row.attempts,
    ]
  )
}

/** A lookup that refuses private addresses (unless allowed), on every connection. */
const guardedLookup: net.LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '', 0)
    const list = addresses as dns.LookupAddress[]
    const bad = privateNetworksAllowed() ? undefined : list.find((a) => isPrivateAddress(a.address))
    if (bad)
      return callback(
        Object.assign(new Error(`${bad.address} is on a private network`), { code: 'EPRIVATE' }),
        '',
        0
      )
    if ((options as dns.LookupOptions).all) return (callback as any)(null, list)
    callback(null, list[0].address, list[0].family)
  })
}

/**
 * POSTs the body; resolves with the status once the response headers arrive (the body is not
 * read). The whole attempt has a hard deadline of TIMEOUT_MS, well inside the claim's lease, so
 * a slow endpoint can neither hold the dispatcher nor be sent the same delivery twice at once.
 * Redirects are not followed (a 3xx is a failure).
 */
function post(url: string, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL(url)
    const literal = target.hostname.replace(/^\[|\]$/g, '')
    if (!privateNetworksAllowed() && net.isIP(literal) && isPrivateAddress(literal))
      return reject(new Error(`${literal} is on a private network`))
    const request = (target.protocol === 'https:' ? https : http).request(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        lookup: guardedLookup,
      },
      (response) => {
        clearTimeout(deadline)
        resolve(response.statusCode ?? 0)
        response.destroy()
      }
    )
    const deadline = setTimeout(
      () => request.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)),
      TIMEOUT_MS
    )
    request.on('error', (error) => {
      clearTimeout(deadline)
      reject(error)
    })
    request.end(body)
  })
}

let timer: NodeJS.Timeout | null = null

/**
 * Sends due deliveries every 2 s (and at once when one is queued here) in web and worker
 * processes; several processes share the work through SKIP LOCKED claims.
 */
export function startWebhookDispatcher() {
  if (timer) return
  enableWebhookDispatch()
  timer = setInterval(() => {
    deliverDueWebhooks().catch((error) => logger.error({ err: error }, 'webhook dispatch failed'))
  }, 2_000)
  timer.unref()
}

export function stopWebhookDispatcher() {
  if (timer) clearInterval(timer)
  timer = null
  dispatcherEnabled = false
}

registerSecretRewrap('webhook secrets', async (reseal) => {
  let resealed = 0
  let unreadable = 0
  const rows = await db
    .from('webhook_endpoints')
    .select('id', 'secret_encrypted', 'previous_secret_encrypted')
  for (const row of rows) {
    const current = reseal(row.secret_encrypted, SECRET_PURPOSE)
    const previous = row.previous_secret_encrypted
      ? reseal(row.previous_secret_encrypted, SECRET_PURPOSE)
      : null
    if (!current || (row.previous_secret_encrypted && !previous)) unreadable++
    if (!current) continue
    // Compare-and-set: a secret rotated meanwhile is already current.
    const changed = await db.rawQuery(
      `UPDATE webhook_endpoints SET secret_encrypted = ?, previous_secret_encrypted = ?
        WHERE id = ? AND secret_encrypted = ?`,
      [current, previous, row.id, row.secret_encrypted]
    )
    if (changed.rowCount) resealed++
  }
  return { resealed, unreadable }
})
