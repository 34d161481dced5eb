/*
 * Event wiring: listeners live in the module that reacts (events are emitted after commit).
 */
import emitter from '@adonisjs/core/services/emitter'
import { UserSignedUp } from '#auth'
import { RunFinished, EvalRunFinished, verifyRunCharges } from '#agents'
import { addLedgerCheck, BudgetThresholdReached, CreditsRanLow } from '#credits'
import { emitWebhook } from '#platform'
import { formatCredits, hardenDatabase, trackCacheRequests } from '#core'
import { registerTenantHooks } from '#tenants'
import '#analytics' // every door loads at boot: each registers its part of the tenant export

const CreatePersonalWorkspace = () => import('#tenants/listeners/create_personal_workspace')

emitter.on(UserSignedUp, [CreatePersonalWorkspace])
emitter.on(RunFinished, [() => import('#analytics/listeners/project_run_finished')])

// Outbound webhooks (CONTRACT.md): the facts each event carries, as its `data`.
emitter.on(RunFinished, ({ facts }) =>
  emitWebhook(facts.tenantId, 'run.finished', {
    run_id: facts.runId,
    agent_id: facts.agentId,
    member_id: facts.memberId,
    status: facts.status,
    model: facts.model,
    usage: { input_tokens: facts.inputTokens, output_tokens: facts.outputTokens },
    cost_credits: formatCredits(facts.costMicros),
    latency_ms: facts.latencyMs,
    created_at: facts.createdAt.toISOString(),
    finished_at: facts.finishedAt.toISOString(),
  })
)
emitter.on(EvalRunFinished, ({ facts }) =>
  emitWebhook(facts.tenantId, 'eval.finished', {
    eval_run_id: facts.evalRunId,
    suite_id: facts.suiteId,
    agent_id: facts.agentId,
    agent_version: facts.agentVersion,
    status: facts.status,
    passed: facts.passed,
    failed: facts.failed,
  })
)
emitter.on(BudgetThresholdReached, ({ facts }) =>
  emitWebhook(facts.tenantId, 'budget.threshold', {
    scope: facts.scope,
    subject_id: facts.subjectId,
    threshold: facts.threshold,
    period: facts.period,
    spent: formatCredits(facts.spentMicros),
    limit: formatCredits(facts.limitMicros),
  })
)
emitter.on(CreditsRanLow, ({ facts }) =>
  emitWebhook(facts.tenantId, 'credits.low', {
    period: facts.period,
    available: formatCredits(facts.availableMicros),
    threshold: formatCredits(facts.thresholdMicros),
  })
)

hardenDatabase()
trackCacheRequests(emitter as any)
registerTenantHooks()
// credits:verify also checks what runs say they cost against the ledger.
addLedgerCheck(verifyRunCharges)
