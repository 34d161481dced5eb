import db from '@adonisjs/lucid/services/db'
import { formatCredits } from '#core'
import type Run from '#agents/models/run'

/** The run as the API shows it (CONTRACT.md). */
export async function serializeRun(run: Run, options: { steps?: boolean } = {}) {
  const steps =
    options.steps === false
      ? undefined
      : (
          await db
            .from('run_steps')
            .where('tenant_id', run.tenantId)
            .where('run_id', run.id)
            .orderBy('position')
            .select('position', 'kind', 'model', 'status', 'input_tokens', 'output_tokens', 'cost_micros', 'error', 'started_at', 'finished_at')
        ).map((s) => ({
          position: s.position,
          kind: s.kind,
          model: s.model,
          status: s.status,
          usage: { input_tokens: s.input_tokens, output_tokens: s.output_tokens },
          cost_credits: formatCredits(s.cost_micros),
          error: s.error ?? undefined,
          started_at: new Date(s.started_at).toISOString(),
          finished_at: s.finished_at ? new Date(s.finished_at).toISOString() : null,
        }))
  return {
    id: run.id,
    agent_id: run.agentId,
    version: run.version,
    thread_id: run.threadId,
    status: run.status,
    input: run.input,
    output: run.output,
    usage: { input_tokens: run.inputTokens, output_tokens: run.outputTokens },
    cost_credits: formatCredits(run.costMicros),
    latency_ms: run.latencyMs,
    ttft_ms: run.ttftMs,
    model: run.model,
    ...(steps ? { steps } : {}),
    ...(run.error ? { error: run.error } : {}),
    metadata: run.metadata,
    created_at: run.createdAt.toISO(),
    finished_at: run.finishedAt?.toISO() ?? null,
  }
}

export type RunDto = Awaited<ReturnType<typeof serializeRun>>
