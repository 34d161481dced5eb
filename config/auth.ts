import { defineConfig } from '@adonisjs/auth'
import { sessionGuard, sessionUserProvider } from '@adonisjs/auth/session'
import { tokensGuard } from '@adonisjs/auth/access_tokens'
import { cachedTokensUserProvider } from '#auth/services/cached_tokens_provider'
import type { InferAuthenticators, InferAuthEvents, Authenticators } from '@adonisjs/auth/types'

/**
 * Browsers use the session guard (with remember-me); the API uses hashed bearer tokens, whose
 * rows and users come from short-lived caches (app/auth/services/cached_tokens_provider.ts).
 */
const authConfig = defineConfig({
  default: 'web',
  guards: {
    web: sessionGuard({
      useRememberMeTokens: true,
      rememberMeTokensAge: '30 days',
      provider: sessionUserProvider({ model: () => import('#auth/models/user') }),
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
