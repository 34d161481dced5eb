/*
 * The agents module's panels of the workspace home (registered through the tenants door): the
 * latest runs and the agents to chat with, in one statement.
 */
import db from '@adonisjs/lucid/services/db'
import { DateTime } from 'luxon'
import { formatCredits } from '#core'
import { registerHomePanel, roleAllows } from '#tenants'

const RECENT_RUNS = 5
const AGENTS_SHOWN = 6

registerHomePanel({
  name: 'activity',
  component: 'agents::components/home_activity',
  order: 20,
  async load(tenant, membership) {
    if (!roleAllows(membership.role, 'runs.read')) return null
    const { rows } = await db.rawQuery(
      `SELECT
         (SELECT COALESCE(json_agg(r), '[]') FROM (
            SELECT runs.id, runs.status, runs.cost_micros::text AS cost, runs.created_at,
                   COALESCE(agents.name, workflows.name) AS name
              FROM runs
              LEFT JOIN agents ON agents.id = runs.agent_id
              LEFT JOIN workflows ON workflows.id = runs.workflow_id
             WHERE runs.tenant_id = ?
             ORDER BY runs.created_at DESC, runs.id DESC LIMIT ?) r) AS runs,
         (SELECT COALESCE(json_agg(a), '[]') FROM (
            SELECT slug, name, description FROM agents
             WHERE tenant_id = ? AND deleted_at IS NULL ORDER BY name, id LIMIT ?) a) AS agents,
         (SELECT count(*) FROM agents WHERE tenant_id = ? AND deleted_at IS NULL) AS agent_count`,
      [tenant.id, RECENT_RUNS, tenant.id, AGENTS_SHOWN, tenant.id]
    )
    const row = rows[0]
    const parse = (value: unknown) => (typeof value === 'string' ? JSON.parse(value) : value)
    return {
      runs: (parse(row.runs) as any[]).map((run) => ({
        id: run.id as string,
        status: run.status as string,
        name: (run.name as string | null) ?? 'model call',
        cost: formatCredits(run.cost),
        at: DateTime.fromISO(String(run.created_at), { zone: 'utc' })
          .setZone(tenant.timeZone)
          .toFormat('LLL d, HH:mm'),
      })),
      agents: parse(row.agents) as { slug: string; name: string; description: string | null }[],
      agentCount: Number(row.agent_count),
      canWrite: roleAllows(membership.role, 'agents.write'),
      canRun: roleAllows(membership.role, 'runs.write'),
    }
  },
})
