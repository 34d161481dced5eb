import { defineConfig } from '@adonisjs/auth'
import { sessionGuard } from '@adonisjs/auth/session'
import { tokensGuard } from '@adonisjs/auth/access_tokens'
import {
  cachedSessionUserProvider,
  cachedTokensUserProvider,
} from '#auth/services/cached_user_providers'
import type { InferAuthenticators, InferAuthEvents, Authenticators } from '@adonisjs/auth/types'

/**
 * Browsers use the session guard (with remember-me); the API uses hashed bearer tokens. Users
 * (and tokens) come from short-lived caches (app/auth/services/cached_user_providers.ts).
 */
const authConfig = defineConfig({
  default: 'web',
  guards: {
    web: sessionGuard({
      useRememberMeTokens: true,
      rememberMeTokensAge: '30 days',
      provider: cachedSessionUserProvider({ model: () => import('#auth/models/user') }),
    }),
    api: tokensGuard({
      provider: cachedTokensUserProvider({
        tokens: 'accessTokens',
        model: () => import('#auth/models/user'),
      }),
    }),
  },
})

export default authConfig

declare module '@adonisjs/auth/types' {
  export interface Authenticators extends InferAuthenticators<typeof authConfig> {}
}
declare module '@adonisjs/core/types' {
  interface EventsList extends InferAuthEvents<Authenticators> {}
}
