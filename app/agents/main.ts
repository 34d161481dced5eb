/**
 * agents — providers and the model catalog, agents and versions, runs, threads.
 * This file is the module's ONE public door: other modules import `#agents`, never `#agents/...`.
 */
export { default as RunFinished } from '#agents/events/run_finished'
export { default as Run } from '#agents/models/run'
export { default as Agent } from '#agents/models/agent'
export { failStaleRuns } from '#agents/services/runs'
