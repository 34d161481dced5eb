import { randomUUID } from 'node:crypto'
import db from '@adonisjs/lucid/services/db'
import { createUser } from '#tests/helpers/web_session'
import { createWorkspace } from '#tests/helpers/tenants'

export type RunFacts = {
  agentId?: string | null
  memberId?: string | null
  model?: string | null
  status?: 'succeeded' | 'failed' | 'cancelled' | 'running'
  inputTokens?: number
  outputTokens?: number
  costMicros?: number
  latencyMs?: number | null
  createdAt?: string | Date
}

/** A finished run inserted directly (no provider, no money): for rollup arithmetic. */
export async function insertRun(tenantId: string, facts: RunFacts = {}) {
  const id = randomUUID()
  await db.table('runs').insert({
    id,
    tenant_id: tenantId,
    agent_id: facts.agentId ?? null,
    member_id: facts.memberId ?? null,
    model: facts.model === undefined ? 'simulator/echo' : facts.model,
    status: facts.status ?? 'succeeded',
    input: 'test',
    input_tokens: facts.inputTokens ?? 10,
    output_tokens: facts.outputTokens ?? 5,
    cost_micros: facts.costMicros ?? 20,
    latency_ms: facts.latencyMs === undefined ? 100 : facts.latencyMs,
    source: 'test',
    created_at: facts.createdAt ?? new Date(),
    finished_at: new Date(),
  })
  return id
}

/** An agent row of the tenant (no versions: enough for labels and links). */
export async function insertAgent(tenantId: string, name = 'Helper', slug = `a-${randomUUID().slice(0, 8)}`) {
  const [row] = await db.table('agents').insert({ tenant_id: tenantId, slug, name }).returning(['id', 'slug', 'name'])
  return row as { id: string; slug: string; name: string }
}

/** An owner and a workspace in `timeZone`. */
export async function zonedWorkspace(timeZone = 'UTC') {
  const owner = await createUser()
  const tenant = await createWorkspace(owner)
  if (timeZone !== 'UTC') {
    tenant.timeZone = timeZone
    await tenant.save()
  }
  return { owner, tenant }
}

/** Every rollup row of a tenant in a stable order (for equality checks). */
export async function rollupRows(tenantId: string) {
  const order = ['agent_id', 'member_id', 'model']
  const hourly = await db.from('usage_hourly').where('tenant_id', tenantId).orderBy(['hour', ...order].map((column) => ({ column, nulls: 'first' as const })))
  const daily = await db.rawQuery(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, agent_id, member_id, model, runs, succeeded, errors, input_tokens, output_tokens, credits_micros, latency_sum_ms, latency_count, latency_hist
     FROM usage_daily WHERE tenant_id = ? ORDER BY day, agent_id NULLS FIRST, member_id NULLS FIRST, model NULLS FIRST`,
    [tenantId]
  )
  return { hourly: hourly.map((row) => ({ ...row, hour: new Date(row.hour).toISOString() })), daily: daily.rows }
}
