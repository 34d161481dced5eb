/*
 * Synthetic agents and runs for benchmarks (`bench:seed`): bulk inserts with generate_series,
 * PostgreSQL only. Runs inserted here have no ledger entries and no events.
 */
import db from '@adonisjs/lucid/services/db'

/** `count` agents `bench-0…` of the tenant (made when missing); their ids in order. */
export async function benchAgents(tenantId: string, count: number) {
  const ids: string[] = []
  for (let i = 0; i < count; i++) {
    const { rows } = await db.rawQuery(
      `INSERT INTO agents (tenant_id, slug, name) VALUES (?, ?, ?)
       ON CONFLICT (tenant_id, slug) WHERE deleted_at IS NULL DO UPDATE SET name = EXCLUDED.name RETURNING id`,
      [tenantId, `bench-${i}`, `Bench agent ${i}`]
    )
    ids.push(rows[0].id)
  }
  return ids
}

/**
 * Adds `runs` finished runs over the last `days` days, `batch` per statement: member i % n
 * alternates between two agents; odd agents use the lorem model. Latency is log-normal around
 * 800 ms; 95 % succeed, 4 % fail (error type `other`: they carry no error), 1 % are
 * cancelled. Runs already there shift the sequence.
 */
export async function insertSyntheticRuns(options: {
  tenantId: string
  agentIds: string[]
  memberIds: string[]
  runs: number
  days: number
  batch: number
  onBatch?: (done: number) => void
  /** ANALYZE runs afterwards (a seed of many workspaces analyzes once, at the end). */
  analyze?: boolean
}) {
  const { tenantId, agentIds, memberIds, runs, days, batch } = options
  const members = memberIds.length
  const agents = agentIds.length
  const offset = Number(
    (await db.rawQuery('SELECT count(*) AS n FROM runs WHERE tenant_id = ?', [tenantId])).rows[0].n
  )
  const since = new Date(Date.now() - days * 86_400_000)
  for (let lo = 0; lo < runs; lo += batch) {
    const hi = Math.min(runs, lo + batch) - 1
    await db.rawQuery(
      `INSERT INTO runs (tenant_id, agent_id, member_id, status, error_type, input, input_tokens, output_tokens,
                         cost_micros, model, latency_ms, ttft_ms, source, created_at, started_at, finished_at)
       SELECT ?, (?::uuid[])[s.agent + 1], (?::uuid[])[s.member + 1], s.status,
              CASE WHEN s.status = 'failed' THEN 'other' END, 'bench', s.it, s.ot, s.it + 2 * s.ot,
              CASE WHEN s.agent % 2 = 0 THEN 'simulator/echo' ELSE 'simulator/lorem' END,
              s.latency, least(s.latency, 150), 'bench', s.at, s.at, s.at + s.latency * interval '1 millisecond'
       FROM (
         SELECT i % ${members} AS member,
                CASE WHEN (i / ${members}) % 2 = 0 THEN (i % ${members}) % ${agents}
                     ELSE ((i % ${members}) * 3 + 1) % ${agents} END AS agent,
                CASE WHEN random() < 0.95 THEN 'succeeded' WHEN random() < 0.8 THEN 'failed'
                     ELSE 'cancelled' END AS status,
                (50 + random() * 1500)::int AS it, (20 + random() * 800)::int AS ot,
                greatest(1, exp(ln(800) + 0.6 * sqrt(-2 * ln(1 - random()))
                                          * cos(2 * pi() * random())))::int AS latency,
                ?::timestamptz + ((i + ?)::float8 / ?) * interval '${days} days' AS at
         FROM generate_series(?::bigint, ?::bigint) i
       ) s`,
      [tenantId, agentIds, memberIds, since, offset, offset + runs, lo, hi]
    )
    options.onBatch?.(hi + 1)
  }
  if (options.analyze !== false) await db.rawQuery('ANALYZE runs')
}
