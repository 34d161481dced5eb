import { BaseSchema } from '@adonisjs/lucid/schema'

/**
 * The error type of every failed run, by the rules of runErrorType (a test checks that both
 * agree on the runs the executor and recovery end).
 */
export const BACKFILL = `
  UPDATE runs r SET error_type = CASE r.error->>'title'
    WHEN 'Provider timed out' THEN 'timeout'
    WHEN 'Run timed out' THEN 'timeout'
    WHEN 'Provider unavailable' THEN 'provider_unavailable'
    WHEN 'Provider error' THEN (
      SELECT CASE
               WHEN u.status = 429 THEN 'rate_limited'
               WHEN u.status = 408 THEN 'timeout'
               WHEN u.status IN (503, 529) THEN 'provider_unavailable'
               WHEN u.status >= 400 AND u.status < 500 THEN 'invalid_request'
               ELSE 'provider_error'
             END
      FROM (SELECT (SELECT (s.error->>'status')::numeric::int FROM run_steps s
                     WHERE s.tenant_id = r.tenant_id AND s.run_id = r.id AND s.model IS NOT NULL
                       AND s.status = 'failed' AND jsonb_typeof(s.error->'status') = 'number'
                     ORDER BY s.position DESC LIMIT 1) AS status) u)
    WHEN 'Context window exceeded' THEN 'context_window'
    WHEN 'Too many steps' THEN 'max_steps'
    WHEN 'Workflow step failed' THEN 'workflow_error'
    WHEN 'Budget exceeded' THEN 'budget_exceeded'
    WHEN 'Credits exhausted' THEN 'insufficient_credits'
    WHEN 'Run not recorded' THEN 'not_recorded'
    WHEN 'Run abandoned' THEN CASE
      WHEN r.error->>'detail' LIKE 'The run exceeded %' THEN 'timeout'
      WHEN r.error->>'detail' LIKE '%could not be recorded%' THEN 'not_recorded'
      ELSE 'abandoned' END
    WHEN 'Run not started' THEN 'abandoned'
    WHEN 'Server shut down' THEN 'abandoned'
    WHEN 'Run failed' THEN 'internal_error'
    ELSE 'other'
  END
  WHERE r.status = 'failed'`

/**
 * Why a failed run failed, as a stable slug (app/agents/services/error_types.ts): the runs
 * list filters on it and analytics counts failures by it. Runs that failed before are
 * classified here by the same rules, frozen in SQL: the problem's title (and for recovery its
 * detail); for a provider error, the status of the run's last failed model call. The partial
 * index serves the list's filter (failed runs only, so it stays small).
 */
export default class extends BaseSchema {
  async up() {
    this.schema.raw(`ALTER TABLE runs ADD COLUMN error_type varchar(40) NULL`)
    this.schema.raw(BACKFILL)
    this.schema.raw(
      `CREATE INDEX runs_tenant_error_type ON runs (tenant_id, error_type, created_at) WHERE error_type IS NOT NULL`
    )
  }

  async down() {
    this.schema.raw(`DROP INDEX IF EXISTS runs_tenant_error_type`)
    this.schema.raw(`ALTER TABLE runs DROP COLUMN error_type`)
  }
}
