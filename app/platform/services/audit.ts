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
 * The platform admin acting as the signed-in user in this request (auth keeps it in the session
 * under `auth.impersonator`), so every audit record of an impersonated session names both.
 */
function impersonatorIn(ctx: HttpContext | null): string | null {
  try {
    return (ctx?.session?.get('auth.impersonator') as { id?: string } | undefined)?.id ?? null
  } catch {
    return null
  }
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
      impersonator_id: input.impersonatorId ?? impersonatorIn(ctx),
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

/** What the audit trail can be filtered by (all optional; ids are checked by the caller). */
export type AuditFilter = {
  tenantId?: string | null
  action?: string | null
  actorId?: string | null
  from?: Date | null
  to?: Date | null
}

const AUDIT_COLUMNS = [
  'id',
  'occurred_at',
  'tenant_id',
  'actor_id',
  'actor_label',
  'impersonator_id',
  'action',
  'subject_type',
  'subject_id',
  'changes',
  'ip',
  'request_id',
]

function filtered(filter: AuditFilter) {
  const query = db.from('audit_events').select(AUDIT_COLUMNS)
  if (filter.tenantId) query.where('tenant_id', filter.tenantId)
  if (filter.action) query.where('action', 'like', `${filter.action.replace(/[%_\\]/g, '')}%`)
  if (filter.actorId) query.where('actor_id', filter.actorId)
  if (filter.from) query.where('occurred_at', '>=', filter.from)
  if (filter.to) query.where('occurred_at', '<', filter.to)
  return query
}

/** Audit events newest first, `limit` of them before the event id `before` (keyset). */
export async function listAuditEvents(
  filter: AuditFilter,
  page: { limit: number; before?: number | null }
) {
  const query = filtered(filter)
  if (page.before) query.where('id', '<', page.before)
  const rows = await query.orderBy('id', 'desc').limit(page.limit + 1)
  return {
    rows: rows.slice(0, page.limit),
    nextBefore: rows.length > page.limit ? Number(rows[page.limit - 1].id) : null,
  }
}

/** Every matching audit event, oldest first, a page at a time (CSV exports in bounded memory). */
export async function* auditEventRows(filter: AuditFilter) {
  let after = 0
  for (;;) {
    const rows = await filtered(filter).where('id', '>', after).orderBy('id').limit(1000)
    if (!rows.length) return
    for (const row of rows) yield row
    after = Number(rows.at(-1).id)
  }
}

export const AUDIT_CSV_COLUMNS = AUDIT_COLUMNS
