/**
 * The finished runs of a tenant as the facts RunFinished carries (one row per run), as a SQL
 * source other modules select from — analytics rebuilds its rollups from millions of runs in one
 * statement, which a row-by-row read through this door would not. The cost is the run's charge on
 * the ledger where there is one (the figure the tenant paid), else the run's recorded cost.
 * `error_type` is set on failed runs only, as RunFacts' errorType.
 */
export function finishedRunFactsSource(tenantId: string) {
  return {
    sql: `SELECT r.id AS run_id, r.tenant_id, r.agent_id, r.member_id, r.model, r.status,
                 CASE WHEN r.status = 'failed' THEN coalesce(r.error_type, 'other') END AS error_type,
                 r.input_tokens, r.output_tokens, coalesce(-c.amount, r.cost_micros) AS cost_micros,
                 r.latency_ms, r.created_at
            FROM runs r
            LEFT JOIN ledger_entries c
              ON c.tenant_id = r.tenant_id AND c.hold_id = r.hold_id AND c.kind = 'charge'
           WHERE r.tenant_id = ? AND r.status IN ('succeeded', 'failed', 'cancelled')`,
    bindings: [tenantId],
  }
}
