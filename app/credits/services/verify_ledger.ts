import db from '@adonisjs/lucid/services/db'
import { sql } from '#credits/services/accounts'
import { formatCredits, isUuid } from '#core'
import { Tenant } from '#tenants'

const LIMIT = 200

/** Each hold's status and what the ledger charged for it (other modules compare their records). */
export async function holdCharges(
  holdIds: string[]
): Promise<Map<string, { tenantId: string; status: string; charged: bigint }>> {
  if (!holdIds.length) return new Map()
  const { rows } = await sql(
    db,
    `SELECT h.id, h.tenant_id, h.status,
            COALESCE((SELECT SUM(-l.amount) FROM ledger_entries l
                       WHERE l.tenant_id = h.tenant_id AND l.hold_id = h.id AND l.kind = 'charge'), 0) AS charged
       FROM credit_holds h WHERE h.id = ANY(?::uuid[])`,
    [holdIds]
  )
  return new Map(
    rows.map((row: any) => [
      row.id,
      { tenantId: row.tenant_id, status: row.status, charged: BigInt(row.charged) },
    ])
  )
}

/** Checks other modules add: what they record about money must agree with the ledger. */
type LedgerCheck = (tenantId: string | null) => Promise<string[]>
const checks: LedgerCheck[] = []
export function addLedgerCheck(check: LedgerCheck) {
  if (!checks.includes(check)) checks.push(check)
}
const c = (micros: unknown) => formatCredits(micros as string)

/**
 * Checks the ledger's invariants from the stored rows alone (it trusts no constraint): for each
 * tenant, balance = sum of its money entries and equals the last balance_after, held = sum of
 * pending holds, available ≥ 0; each hold resolved at most once, charged at most once and within
 * its amount, pending only before its expiry; refunds within their charge; idempotency keys
 * unique; entry signs match their kind. Returns one line per violation (empty when clean).
 */
export async function verifyLedger(tenantId?: string | null): Promise<string[]> {
  const only = (alias: string) => (tenantId ? `AND ${alias}.tenant_id = ?` : '')
  const bind = (times: number) => (tenantId ? Array(times).fill(tenantId) : [])
  // Lines name the tenant by id here; `bySlug` swaps in slugs through the tenants' door.
  const label = (alias: string) => `${alias}.tenant_id::text AS label`
  const problems: string[] = []

  const accounts = await sql(
    db,
    `WITH ids AS (
        SELECT tenant_id FROM credit_accounts a WHERE TRUE ${only('a')}
        UNION SELECT tenant_id FROM ledger_entries l WHERE TRUE ${only('l')}
        UNION SELECT tenant_id FROM credit_holds h WHERE status = 'pending' ${only('h')}
     ),
     sums AS (SELECT tenant_id, SUM(amount) AS total FROM ledger_entries l WHERE TRUE ${only('l')}
               GROUP BY tenant_id),
     pending AS (SELECT tenant_id, SUM(amount) AS total FROM credit_holds h
                  WHERE status = 'pending' ${only('h')} GROUP BY tenant_id),
     last AS (SELECT DISTINCT ON (tenant_id) tenant_id, balance_after FROM ledger_entries l
               WHERE TRUE ${only('l')} ORDER BY tenant_id, seq DESC)
     SELECT ${label('ids')}, a.tenant_id IS NOT NULL AS has_account,
            COALESCE(a.balance, 0) AS balance, COALESCE(a.held, 0) AS held,
            COALESCE(sums.total, 0) AS ledger_total, COALESCE(pending.total, 0) AS pending_total,
            last.balance_after AS last_balance
       FROM ids
       LEFT JOIN credit_accounts a ON a.tenant_id = ids.tenant_id
       LEFT JOIN sums ON sums.tenant_id = ids.tenant_id
       LEFT JOIN pending ON pending.tenant_id = ids.tenant_id
       LEFT JOIN last ON last.tenant_id = ids.tenant_id
      ORDER BY 1`,
    bind(6)
  )
  for (const row of accounts.rows) {
    const [balance, held] = [BigInt(row.balance), BigInt(row.held)]
    if (!row.has_account)
      problems.push(`${row.label}: has ledger entries or pending holds but no credit account`)
    if (balance !== BigInt(row.ledger_total))
      problems.push(
        `${row.label}: balance ${c(balance)} ≠ sum of ledger entries ${c(row.ledger_total)}`
      )
    if (row.last_balance !== null && BigInt(row.last_balance) !== balance)
      problems.push(
        `${row.label}: balance ${c(balance)} ≠ balance_after of the last entry ${c(row.last_balance)}`
      )
    if (held !== BigInt(row.pending_total))
      problems.push(`${row.label}: held ${c(held)} ≠ sum of pending holds ${c(row.pending_total)}`)
    if (held < 0n) problems.push(`${row.label}: held ${c(held)} is negative`)
    if (balance - held < 0n)
      problems.push(`${row.label}: available ${c(balance - held)} is negative`)
  }

  const chain = await sql(
    db,
    `SELECT x.*, ${label('x')} FROM (
        SELECT tenant_id, id, kind, amount, balance_after,
               SUM(amount) OVER (PARTITION BY tenant_id ORDER BY seq) AS running
          FROM ledger_entries l WHERE TRUE ${only('l')}
     ) x
     WHERE x.balance_after <> x.running
        OR x.balance_after < 0
        OR NOT (CASE WHEN x.kind IN ('grant', 'purchase', 'allowance', 'refund') THEN x.amount > 0
                     WHEN x.kind IN ('charge', 'expiry') THEN x.amount < 0
                     WHEN x.kind = 'adjustment' THEN x.amount <> 0
                     ELSE FALSE END)
     LIMIT ${LIMIT}`,
    bind(1)
  )
  for (const row of chain.rows) {
    if (BigInt(row.balance_after) !== BigInt(row.running))
      problems.push(
        `${row.label}: entry ${row.id} has balance_after ${c(row.balance_after)} ` +
          `but the running sum is ${c(row.running)}`
      )
    else if (BigInt(row.balance_after) < 0n)
      problems.push(`${row.label}: entry ${row.id} takes the balance below zero`)
    else
      problems.push(
        `${row.label}: entry ${row.id} is a ${row.kind} of ${c(row.amount)} (wrong sign for its kind)`
      )
  }

  const holds = await sql(
    db,
    `WITH charges AS (
        SELECT tenant_id, hold_id, COUNT(*) AS n, SUM(-amount) AS total FROM ledger_entries l
         WHERE kind = 'charge' ${only('l')} GROUP BY tenant_id, hold_id
     )
     SELECT h.id, h.status, h.amount, h.charged, h.resolved_at IS NOT NULL AS resolved,
            h.status = 'pending' AND h.expires_at <= now() AS overdue,
            COALESCE(ch.n, 0) AS charges, COALESCE(ch.total, 0) AS charged_total, ${label('h')}
       FROM credit_holds h
       LEFT JOIN charges ch ON ch.tenant_id = h.tenant_id AND ch.hold_id = h.id
      WHERE TRUE ${only('h')} AND (
            (h.status = 'pending' AND h.expires_at <= now())
         OR ((h.status = 'pending') <> (h.resolved_at IS NULL))
         OR h.status NOT IN ('pending', 'settled', 'released', 'expired')
         OR h.amount <= 0
         OR COALESCE(ch.n, 0) > 1
         OR (h.status <> 'settled' AND (COALESCE(ch.n, 0) > 0 OR h.charged IS NOT NULL))
         OR (h.status = 'settled' AND (h.charged IS NULL OR h.charged < 0 OR h.charged > h.amount
                                       OR COALESCE(ch.total, 0) <> h.charged)))
      LIMIT ${LIMIT}`,
    bind(2)
  )
  for (const row of holds.rows) {
    const hold = `${row.label}: hold ${row.id}`
    if (row.overdue) problems.push(`${hold} is still pending after its expiry (run credits:sweep)`)
    if ((row.status === 'pending') === row.resolved)
      problems.push(
        `${hold} is ${row.status} but ${row.resolved ? 'has' : 'has no'} resolution time`
      )
    if (!['pending', 'settled', 'released', 'expired'].includes(row.status))
      problems.push(`${hold} has unknown status ${row.status}`)
    if (BigInt(row.amount) <= 0n) problems.push(`${hold} holds ${c(row.amount)} (not positive)`)
    if (Number(row.charges) > 1) problems.push(`${hold} was charged ${row.charges} times`)
    if (row.status !== 'settled' && (Number(row.charges) > 0 || row.charged !== null))
      problems.push(`${hold} is ${row.status} but was charged`)
    if (row.status === 'settled') {
      if (
        row.charged === null ||
        BigInt(row.charged) < 0n ||
        BigInt(row.charged) > BigInt(row.amount)
      ) {
        problems.push(
          `${hold} is settled with charge ${row.charged === null ? 'missing' : c(row.charged)} ` +
            `outside 0…${c(row.amount)}`
        )
      } else if (BigInt(row.charged_total) !== BigInt(row.charged)) {
        problems.push(
          `${hold} charged ${c(row.charged)} but its ledger charges total ${c(row.charged_total)}`
        )
      }
    }
  }

  const orphans = await sql(
    db,
    `SELECT l.id, l.kind, ${label('l')},
            (SELECT COALESCE(SUM(-amount), 0) FROM ledger_entries c
              WHERE c.tenant_id = l.tenant_id AND c.hold_id = l.hold_id AND c.kind = 'charge') AS charged,
            (SELECT COALESCE(SUM(amount), 0) FROM ledger_entries r
              WHERE r.tenant_id = l.tenant_id AND r.hold_id = l.hold_id AND r.kind = 'refund') AS refunded
       FROM ledger_entries l
       LEFT JOIN credit_holds h ON h.id = l.hold_id AND h.tenant_id = l.tenant_id
      WHERE l.kind IN ('charge', 'refund') ${only('l')}
        AND (h.id IS NULL
             OR (l.kind = 'refund'
                 AND (SELECT COALESCE(SUM(amount), 0) FROM ledger_entries r
                       WHERE r.tenant_id = l.tenant_id AND r.hold_id = l.hold_id AND r.kind = 'refund')
                   > (SELECT COALESCE(SUM(-amount), 0) FROM ledger_entries c
                       WHERE c.tenant_id = l.tenant_id AND c.hold_id = l.hold_id AND c.kind = 'charge')))
      LIMIT ${LIMIT}`,
    bind(1)
  )
  for (const row of orphans.rows) {
    if (BigInt(row.refunded) > BigInt(row.charged) && row.kind === 'refund')
      problems.push(
        `${row.label}: refund ${row.id} takes refunds (${c(row.refunded)}) past the charge (${c(row.charged)})`
      )
    else problems.push(`${row.label}: ${row.kind} ${row.id} refers to no hold of this tenant`)
  }

  for (const table of ['ledger_entries', 'credit_holds']) {
    const duplicates = await sql(
      db,
      `SELECT x.idempotency_key, COUNT(*) AS n, ${label('x')} FROM ${table} x
        WHERE x.idempotency_key IS NOT NULL ${only('x')}
        GROUP BY x.tenant_id, x.idempotency_key HAVING COUNT(*) > 1 LIMIT ${LIMIT}`,
      bind(1)
    )
    for (const row of duplicates.rows)
      problems.push(
        `${row.label}: idempotency key "${row.idempotency_key}" used by ` +
          `${row.n} ${table === 'credit_holds' ? 'holds' : 'ledger entries'}`
      )
  }
  const lines = await bySlug(problems)
  for (const check of checks) lines.push(...(await check(tenantId ?? null)))
  return lines
}

/** Problem lines starting with a tenant id, with the tenant's slug instead where it exists. */
async function bySlug(problems: string[]) {
  const ids = [...new Set(problems.map((line) => line.slice(0, 36)))].filter(isUuid)
  if (!ids.length) return problems
  const tenants = await Tenant.query().whereIn('id', ids).select('id', 'slug')
  const slugs = new Map(tenants.map((tenant) => [tenant.id, tenant.slug]))
  return problems.map((line) => {
    const slug = slugs.get(line.slice(0, 36))
    return slug ? slug + line.slice(36) : line
  })
}
