/**
 * agents — providers and the model catalog, agents and versions, runs, threads, marketplace.
 * This file is the module's ONE public door: other modules import `#agents`, never `#agents/...`.
 */
export const moduleName = 'agents'
