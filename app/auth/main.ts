/**
 * auth — GLOBAL identity (not tenant-scoped): users, sessions, passwords, API tokens, two-factor,
 * platform admins. This file is the module's ONE public door: import `#auth`, never `#auth/...`.
 */
export { default as User } from '#auth/models/user'
export { default as UserSignedUp } from '#auth/events/user_signed_up'
export { API_ABILITIES, type ApiAbility } from '#auth/abilities'
export { requireAbility, tokenAbilities, ForbiddenException } from '#auth/services/api_access'
export { createApiToken, revokeApiToken, revokeTokensForTenant, tokenTenantId } from '#auth/actions/create_api_token'
export { registerDeletionGuard, registerTokenTenantOptions } from '#auth/services/hooks'
export { revokeSessions, revokeAllTokens } from '#auth/services/sessions'
export { userHasTwoFactor } from '#auth/services/totp'
export { passwordProblem } from '#auth/services/password_policy'
