/**
 * agents — providers and the model catalog, agents and versions, runs, threads.
 * This file is the module's ONE public door: other modules import `#agents`, never `#agents/...`.
 *
 * Runs: inside the module every entry point calls the one use case `startRun()`; the engine
 * (`startRunEngine`) recovers runs whose process died and drains on shutdown; `RunFinished`
 * carries a finished run's facts, exactly once per run.
 */
export { default as RunFinished, type RunFacts } from '#agents/events/run_finished'
export { default as EvalRunFinished } from '#agents/events/eval_run_finished'
export { default as Run } from '#agents/models/run'
export { default as Agent } from '#agents/models/agent'
export { createAgent } from '#agents/actions/save_agent'
export { allListings, moderateListing } from '#agents/actions/marketplace'
export { startRunEngine, drainOnShutdown, recoverAbandonedRuns } from '#agents/services/runs'
export { purgeExpiredRunContent } from '#agents/actions/purge_run_content'
/** The platform catalog for the admin area: providers, models and the price book. */
export {
  listProviders,
  findProvider,
  createProvider,
  listModels,
  findModel,
  addModel,
  setModelPrice,
} from '#agents/actions/manage_providers'
export { verifyRunCharges } from '#agents/services/verify_runs'
export { providersOfModels } from '#agents/services/catalog'
export { finishedRunFactsSource } from '#agents/services/run_facts_source'
/** Why failed runs failed: the slugs RunFacts.errorType and the runs list's `error` filter take. */
export { ERROR_TYPES, errorTypeLabel, type ErrorType } from '#agents/services/error_types'
export { benchAgents, insertSyntheticRuns } from '#agents/services/bench_runs'
import '#agents/export'
import '#agents/budget_agents'
import '#agents/secrets'
import '#agents/home'
