/**
 * The module map: every module in dependency order, with the modules whose public door
 * (`#<module>`) it may import. `core` is importable by all and imports no module. The lint rule
 * (eslint.config.js), the migration order and the Edge disks are all derived from this one map.
 */
export const modules = {
  core: [],
  platform: [],
  auth: ['platform'],
  tenants: ['auth', 'platform'],
  credits: ['tenants', 'auth', 'platform'],
  agents: ['credits', 'tenants', 'auth', 'platform'],
  analytics: ['agents', 'credits', 'tenants', 'auth', 'platform'],
  admin: ['analytics', 'agents', 'credits', 'tenants', 'auth', 'platform'],
} as const satisfies Record<string, readonly string[]>

export type ModuleName = keyof typeof modules

/** Module names in dependency order (every module after the ones it depends on). */
export const moduleNames = Object.keys(modules) as ModuleName[]
