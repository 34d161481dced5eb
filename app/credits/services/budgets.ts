import db from '@adonisjs/lucid/services/db'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import { BudgetExceededException } from '#credits/errors'
import { sql } from '#credits/services/accounts'

export type BudgetScope = 'member' | 'agent'
export type Budget = { scope: BudgetScope; subjectId: string; limit: bigint }

/** The subjects a hold counts against, with names for refusal messages. */
export type BudgetSubjects = {
  memberId: string | null
  agentId: string | null
  labels?: { member?: string | null; agent?: string | null }
}

const keyOf = (scope: BudgetScope, id: string) => `${scope}:${id}`

/** A tenant's budgets (what GET /budgets shows). */
export async function listBudgets(tenantId: string, client?: TransactionClientContract) {
  const { rows } = await sql(
    client ?? db,
    `SELECT scope, subject_id, limit_micros FROM credit_budgets WHERE tenant_id = ?
      ORDER BY scope, subject_id`,
    [tenantId]
  )
  return rows.map((row): Budget => ({
    scope: row.scope,
    subjectId: row.subject_id,
    limit: BigInt(row.limit_micros),
  }))
}

/**
 * What a batch of holds may still spend per budget this month, tracked in memory as the batch
 * admits holds. Loaded under the account row lock, so concurrent batches of the tenant (this
 * process or another) see each other's holds: spend = charges − refunds since the period start
 * plus the pending holds of the member or agent.
 */
export class BudgetBook {
  private constructor(
    private limits: Map<string, bigint>,
    private used: Map<string, bigint>
  ) {}

  static async load(
    trx: TransactionClientContract,
    tenantId: string,
    subjects: { members: string[]; agents: string[] },
    periodStart: Date
  ): Promise<BudgetBook | null> {
    if (!subjects.members.length && !subjects.agents.length) return null
    const budgets = await sql(
      trx,
      `SELECT scope, subject_id, limit_micros FROM credit_budgets
        WHERE tenant_id = ? AND ((scope = 'member' AND subject_id = ANY(?::uuid[]))
                              OR (scope = 'agent' AND subject_id = ANY(?::uuid[])))`,
      [tenantId, subjects.members, subjects.agents]
    )
    if (!budgets.rows.length) return null
    const limits = new Map<string, bigint>(
      budgets.rows.map((row) => [keyOf(row.scope, row.subject_id), BigInt(row.limit_micros)])
    )
    const members = budgets.rows.filter((r) => r.scope === 'member').map((r) => r.subject_id)
    const agents = budgets.rows.filter((r) => r.scope === 'agent').map((r) => r.subject_id)
    const used = await spentByBudget(trx, tenantId, { members, agents }, periodStart, true)
    return new BudgetBook(limits, used)
  }

  /** The refusal for spending `amount` more on these subjects, or null when every budget allows it. */
  refusal(subjects: BudgetSubjects, amount: bigint): BudgetExceededException | null {
    for (const [scope, id] of pairs(subjects)) {
      const limit = this.limits.get(keyOf(scope, id))
      if (limit === undefined) continue
      const used = this.used.get(keyOf(scope, id)) ?? 0n
      if (used + amount > limit)
        return new BudgetExceededException(scope, id, {
          label: subjects.labels?.[scope] ?? null,
          limit,
          used,
          needed: amount,
        })
    }
    return null
  }

  add(subjects: BudgetSubjects, amount: bigint) {
    for (const [scope, id] of pairs(subjects)) {
      const key = keyOf(scope, id)
      if (this.limits.has(key)) this.used.set(key, (this.used.get(key) ?? 0n) + amount)
    }
  }
}

function pairs(subjects: BudgetSubjects): [BudgetScope, string][] {
  const out: [BudgetScope, string][] = []
  if (subjects.memberId) out.push(['member', subjects.memberId])
  if (subjects.agentId) out.push(['agent', subjects.agentId])
  return out
}

/**
 * A charge of the period, or a refund of one: a refund counts where its charge does (by hold),
 * so last month's refund never makes room in this month's budget.
 */
const chargedSince = (e: string) =>
  `(CASE WHEN ${e}.kind = 'charge' THEN ${e}.created_at >= ?
         ELSE EXISTS (SELECT 1 FROM ledger_entries c WHERE c.tenant_id = ${e}.tenant_id
                        AND c.hold_id = ${e}.hold_id AND c.kind = 'charge' AND c.created_at >= ?) END)`

/**
 * Credits spent this period per `scope:id` (charges net of their refunds), plus, with
 * `withHeld`, what pending holds of those subjects reserve.
 */
export async function spentByBudget(
  client: TransactionClientContract | typeof db,
  tenantId: string,
  subjects: { members: string[]; agents: string[] },
  since: Date,
  withHeld: boolean
): Promise<Map<string, bigint>> {
  const held = withHeld
    ? `UNION ALL
       SELECT 'member', member_id, amount FROM credit_holds
        WHERE tenant_id = ? AND status = 'pending' AND member_id = ANY(?::uuid[])
       UNION ALL
       SELECT 'agent', agent_id, amount FROM credit_holds
        WHERE tenant_id = ? AND status = 'pending' AND agent_id = ANY(?::uuid[])`
    : ''
  const { rows } = await sql(
    client,
    `SELECT scope, subject, SUM(amount)::text AS used FROM (
       SELECT 'member' AS scope, e.member_id AS subject, -e.amount AS amount FROM ledger_entries e
        WHERE e.tenant_id = ? AND e.member_id = ANY(?::uuid[]) AND e.kind IN ('charge', 'refund')
          AND ${chargedSince('e')}
       UNION ALL
       SELECT 'agent', e.agent_id, -e.amount FROM ledger_entries e
        WHERE e.tenant_id = ? AND e.agent_id = ANY(?::uuid[]) AND e.kind IN ('charge', 'refund')
          AND ${chargedSince('e')}
       ${held}
     ) spend GROUP BY scope, subject`,
    [
      tenantId,
      subjects.members,
      since,
      since,
      tenantId,
      subjects.agents,
      since,
      since,
      ...(withHeld ? [tenantId, subjects.members, tenantId, subjects.agents] : []),
    ]
  )
  return new Map(rows.map((row) => [keyOf(row.scope, row.subject), BigInt(row.used)]))
}

type AgentDirectory = {
  /** id → name of the tenant's agents among `ids` (others are absent: deleted or foreign). */
  names(tenantId: string, ids: string[]): Promise<Map<string, string>>
  /** The tenant's agent with this id or slug. */
  find(tenantId: string, idOrSlug: string): Promise<{ id: string; name: string } | null>
}
let agentDirectory: AgentDirectory = {
  names: async () => new Map(),
  find: async () => null,
}

/**
 * Lets the agents module (above credits) tell which agents exist in a tenant and their names,
 * for budget validation, pages and alerts: credits never reads agents itself.
 */
export function registerBudgetAgents(directory: AgentDirectory) {
  agentDirectory = directory
}

/** id → name of the tenant's agents among `ids`. */
export function agentNames(tenantId: string, ids: string[]) {
  return ids.length
    ? agentDirectory.names(tenantId, ids)
    : Promise.resolve(new Map<string, string>())
}

export function findBudgetAgent(tenantId: string, idOrSlug: string) {
  return agentDirectory.find(tenantId, idOrSlug)
}
