import { createHash } from 'node:crypto'
import db from '@adonisjs/lucid/services/db'

const TTL_MS = 24 * 3600 * 1000

export type IdempotencyClaim =
  | { state: 'new' }
  | { state: 'replay'; status: number; body: unknown }
  | { state: 'conflict'; detail: string }

/** A stable hash of a request body (key order does not matter). */
export function requestHash(body: unknown) {
  const canonical = (value: unknown): string =>
    Array.isArray(value)
      ? `[${value.map(canonical).join(',')}]`
      : value && typeof value === 'object'
        ? `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as any)[k])}`).join(',')}}`
        : JSON.stringify(value ?? null)
  return createHash('sha256').update(canonical(body)).digest('hex')
}

/**
 * Claims (tenant, route, key) for 24 h. The first claim wins (primary key); a later identical
 * request replays the stored response, one still in flight or with a different body conflicts.
 */
export async function claimIdempotencyKey(scope: { tenantId: string; route: string; key: string }, hash: string): Promise<IdempotencyClaim> {
  const expiresAt = new Date(Date.now() + TTL_MS)
  // An expired record no longer binds the key.
  await db.from('idempotency_keys').where({ tenant_id: scope.tenantId, route: scope.route, key: scope.key }).where('expires_at', '<', new Date()).delete()
  const inserted = await db.rawQuery(
    `INSERT INTO idempotency_keys (tenant_id, route, key, request_hash, status, expires_at)
     VALUES (?, ?, ?, ?, 'in_flight', ?) ON CONFLICT DO NOTHING RETURNING key`,
    [scope.tenantId, scope.route, scope.key, hash, expiresAt]
  )
  if (inserted.rows.length) return { state: 'new' }
  const existing = await db.from('idempotency_keys').where({ tenant_id: scope.tenantId, route: scope.route, key: scope.key }).first()
  if (!existing) return claimIdempotencyKey(scope, hash)
  if (existing.request_hash !== hash) return { state: 'conflict', detail: 'This Idempotency-Key was already used with a different request body.' }
  if (existing.status !== 'completed') return { state: 'conflict', detail: 'A request with this Idempotency-Key is still in progress.' }
  return { state: 'replay', status: existing.response_status, body: existing.response_body }
}

/** Stores the final response for replays. */
export async function completeIdempotencyKey(scope: { tenantId: string; route: string; key: string }, status: number, body: unknown) {
  await db
    .from('idempotency_keys')
    .where({ tenant_id: scope.tenantId, route: scope.route, key: scope.key })
    .update({ status: 'completed', response_status: status, response_body: JSON.stringify(body) })
}

/** Frees the key after a failure that should not be replayed (server errors). */
export async function releaseIdempotencyKey(scope: { tenantId: string; route: string; key: string }) {
  await db.from('idempotency_keys').where({ tenant_id: scope.tenantId, route: scope.route, key: scope.key }).where('status', 'in_flight').delete()
}
