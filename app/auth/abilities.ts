/** API token abilities (CONTRACT.md). A token with none listed may do everything the role allows. */
export const API_ABILITIES = [
  'agents:read',
  'agents:write',
  'runs:read',
  'runs:write',
  'credits:read',
  'credits:write',
  'analytics:read',
  'knowledge:write',
  'webhooks:write',
] as const

export type ApiAbility = (typeof API_ABILITIES)[number]
