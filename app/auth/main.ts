/**
 * auth — GLOBAL identity (not tenant-scoped): users, sessions, passwords, API tokens, platform admins.
 * This file is the module's ONE public door: other modules import `#auth`, never `#auth/...`.
 */
export const moduleName = 'auth'
