import { createHash } from 'node:crypto'
import { HttpContext } from '@adonisjs/core/http'
import db from '@adonisjs/lucid/services/db'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'

export type AuditInput = {
  action: string
  actorId?: string | null
  actorLabel?: string | null
  impersonatorId?: string | null
  tenantId?: string | null
  subjectType?: string | null
  subjectId?: string | null
  changes?: Record<string, unknown> | null
}

const GENESIS = '0'.repeat(64)

/** JSON with object keys sorted at every level (jsonb does not keep insertion order). */
function canonicalJson(value: unknown): string {
  if (value instanceof Date) return JSON.stringify(value.toISOString())
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as any)[key])}`)
    return `{${entries.join(',')}}`
  }
  return JSON.stringify(value ?? null)
}

/**
 * The hashed content of a row, in a fixed order. Personal data (actor label, IP, user agent) is
 * left out so it can be erased when an account is deleted without breaking the chain; the
 * actor id stays as a pseudonym.
 */
export function auditDigest(prevHash: string, row: Record<string, unknown>) {
  const fields = [
    'occurred_at',
    'actor_id',
    'impersonator_id',
    'tenant_id',
    'action',
    'subject_type',
    'subject_id',
    'changes',
    'request_id',
  ]
  const canonical = canonicalJson(fields.map((field) => row[field] ?? null))
  return createHash('sha256').update(prevHash).update(canonical).digest('hex')
}

/**
 * Appends one audit event, chained to the previous one by hash. The chain is extended under a
 * transaction-scoped advisory lock so concurrent writers cannot fork it. The request's IP, user
 * agent and request id are taken from the current HTTP context when there is one.
 */
export async function recordAudit(input: AuditInput, trx?: TransactionClientContract) {
  const ctx = HttpContext.get()
  const write = async (client: TransactionClientContract) => {
    await client.rawQuery(`SELECT pg_advisory_xact_lock(hashtext('agora.audit_chain'))`)
    // Through the owner's function: inside a tenant transaction other tenants' rows are hidden.
    const head = await client.rawQuery(`SELECT audit_chain_head() AS hash`)
    const prevHash: string = head.rows[0]?.hash ?? GENESIS
    const row = {
      occurred_at: new Date(Math.floor(Date.now() / 1000) * 1000),
      actor_id: input.actorId ?? null,
      actor_label: input.actorLabel ?? null,
      impersonator_id: input.impersonatorId ?? null,
      tenant_id: input.tenantId ?? null,
      action: input.action,
      subject_type: input.subjectType ?? null,
      subject_id: input.subjectId ?? null,
      changes: input.changes ?? null,
      ip: ctx?.request.ip() ?? null,
      user_agent: ctx?.request.header('user-agent')?.slice(0, 512) ?? null,
      request_id: ctx?.request.id() ?? null,
    }
    await client.table('audit_events').insert({
      ...row,
      changes: row.changes === null ? null : JSON.stringify(row.changes),
      prev_hash: prevHash,
      hash: auditDigest(prevHash, row),
    })
  }
  return trx ? write(trx) : db.transaction(write)
}

/** Walks the chain; returns one line per broken link (empty when intact). */
export async function verifyAuditChain() {
  const problems: string[] = []
  let prevHash = GENESIS
  let lastId = 0
  for (;;) {
    const rows = await db.from('audit_events').where('id', '>', lastId).orderBy('id').limit(1000)
    if (rows.length === 0) break
    for (const row of rows) {
      if (row.prev_hash !== prevHash)
        problems.push(`audit event ${row.id}: prev_hash does not match event before it`)
      if (auditDigest(row.prev_hash, row) !== row.hash)
        problems.push(`audit event ${row.id}: content does not match its hash`)
      prevHash = row.hash
      lastId = row.id
    }
  }
  return problems
}

/** Erases the personal data of a deleted user's audit rows (the chain stays verifiable). */
export async function anonymiseAuditActor(actorId: string, trx?: TransactionClientContract) {
  await (trx ?? db)
    .from('audit_events')
    .where('actor_id', actorId)
    .update({ actor_label: 'deleted user', ip: null, user_agent: null })
}
