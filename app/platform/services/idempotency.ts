import { createHash } from 'node:crypto'
import db from '@adonisjs/lucid/services/db'
import type { QueryClientContract } from '@adonisjs/lucid/types/database'

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
        ? `{${Object.keys(value)
            .sort()
            .map((k) => `${JSON.stringify(k)}:${canonical((value as any)[k])}`)
            .join(',')}}`
        : JSON.stringify(value ?? null)
  return createHash('sha256').update(canonical(body)).digest('hex')
}

export type IdempotencyScope = { tenantId: string; route: string; key: string }

/**
 * Claims (tenant, route, key) for 24 h. The first claim wins (primary key); a later identical
 * request replays the stored response, one still in flight or with a different body conflicts.
 * `reference` names what the request creates (`run:<id>`) so its owner can free the key;
 * a claim left in flight longer than `staleAfterMs` (its process died before creating
 * anything) is taken over instead of answering 409 for a day.
 */
export async function claimIdempotencyKey(
  scope: IdempotencyScope,
  hash: string,
  options: { reference?: string; staleAfterMs?: number } = {}
): Promise<IdempotencyClaim> {
  const expiresAt = new Date(Date.now() + TTL_MS)
  // An expired record, or a claim whose process died before it created anything, no longer binds the key.
  const staleBefore = new Date(Date.now() - (options.staleAfterMs ?? TTL_MS))
  await db.rawQuery(
    `DELETE FROM idempotency_keys
      WHERE tenant_id = ? AND route = ? AND key = ?
        AND (expires_at < now() OR (status = 'in_flight' AND created_at < ?))`,
    [scope.tenantId, scope.route, scope.key, staleBefore]
  )
  const inserted = await db.rawQuery(
    `INSERT INTO idempotency_keys (tenant_id, route, key, request_hash, status, expires_at, reference)
     VALUES (?, ?, ?, ?, 'in_flight', ?, ?) ON CONFLICT DO NOTHING RETURNING key`,
    [scope.tenantId, scope.route, scope.key, hash, expiresAt, options.reference ?? null]
  )
  if (inserted.rows.length) return { state: 'new' }
  const existing = await db
    .from('idempotency_keys')
    .where({ tenant_id: scope.tenantId, route: scope.route, key: scope.key })
    .first()
  if (!existing) return claimIdempotencyKey(scope, hash, options)
  if (existing.request_hash !== hash)
    return {
      state: 'conflict',
      detail: 'This Idempotency-Key was already used with a different request body.',
    }
  if (existing.status !== 'completed')
    return {
      state: 'conflict',
      detail: 'A request with this Idempotency-Key is still in progress.',
    }
  return { state: 'replay', status: existing.response_status, body: existing.response_body }
}

/** Stores the final response for replays (inside the caller's transaction when given). */
export async function completeIdempotencyKey(
  scope: IdempotencyScope,
  status: number,
  body: unknown,
  client: Pick<QueryClientContract, 'from' | 'table'> = db
) {
  await client
    .from('idempotency_keys')
    .where({ tenant_id: scope.tenantId, route: scope.route, key: scope.key })
    .update({ status: 'completed', response_status: status, response_body: JSON.stringify(body) })
}

/** Frees the key after a failure that should not be replayed (server errors). */
export async function releaseIdempotencyKey(scope: IdempotencyScope) {
  await db
    .from('idempotency_keys')
    .where({ tenant_id: scope.tenantId, route: scope.route, key: scope.key })
    .where('status', 'in_flight')
    .delete()
}

/** Frees the in-flight keys that created these objects (a run abandoned by a dead process). */
export async function releaseIdempotencyKeysOf(
  tenantId: string,
  references: string[],
  client: Pick<QueryClientContract, 'from' | 'table'> = db
) {
  if (!references.length) return
  await client
    .from('idempotency_keys')
    .where('tenant_id', tenantId)
    .whereIn('reference', references)
    .where('status', 'in_flight')
    .delete()
}
