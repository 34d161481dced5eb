import { NotFoundException, urlFor } from '#core'
import vine from '@vinejs/vine'
import type { HttpContext } from '@adonisjs/core/http'
import db from '@adonisjs/lucid/services/db'
import { API_ABILITIES } from '#auth/abilities'
import { createApiToken, revokeApiToken } from '#auth/actions/create_api_token'
import type User from '#auth/models/user'
import { withSecrets } from '#auth/services/token_cache'
import { tokenTenantChoices } from '#auth/services/hooks'
import { throttledAttempt } from '#auth/services/brute_force'
import { PASSWORD_MAX } from '#auth/services/password_policy'
import { markConfirmed, recentlyConfirmed } from '#auth/services/sessions'
import hash from '@adonisjs/core/services/hash'

const EXPIRIES = {
  'never': undefined,
  '7d': '7 days',
  '30d': '30 days',
  '90d': '90 days',
  '365d': '365 days',
} as const

const tokenValidator = vine.create({
  name: vine.string().trim().minLength(1).maxLength(80),
  abilities: vine.array(vine.enum(API_ABILITIES)).maxLength(API_ABILITIES.length).optional(),
  expires: vine.enum(Object.keys(EXPIRIES) as (keyof typeof EXPIRIES)[]),
  tenant: vine.string().trim().maxLength(64),
  password: vine.string().maxLength(PASSWORD_MAX).optional(),
})

/** API tokens of the signed-in user: list (with last use), create (secret shown once), revoke. */
export default class ApiTokensController {
  async index(ctx: HttpContext) {
    const { view, auth } = ctx
    const user = auth.user as User
    const tokens = await db
      .from('auth_access_tokens')
      .where('tokenable_id', user.id)
      .select('id', 'name', 'abilities', 'created_at', 'last_used_at', 'expires_at', 'tenant_id')
      .orderBy('created_at', 'desc')
    const workspaces = await tokenTenantChoices(user)
    const names = new Map(workspaces.map((w) => [w.id, w.label]))
    return view.render('auth::pages/tokens', {
      workspaces,
      tokens: tokens.map((token) => ({
        ...token,
        abilities: JSON.parse(token.abilities),
        workspace: names.get(token.tenant_id) ?? '—',
      })),
      abilities: API_ABILITIES,
      expiries: Object.keys(EXPIRIES),
      needsPassword: !recentlyConfirmed(ctx),
    })
  }

  async store(ctx: HttpContext) {
    const { request, response, auth, session } = ctx
    const user = await withSecrets(auth.user as User)
    const input = await request.validateUsing(tokenValidator)
    // Sudo mode: a session whose password entry is older than 15 minutes confirms it again.
    if (!recentlyConfirmed(ctx)) {
      const ok =
        input.password !== undefined &&
        (await throttledAttempt('login', user.email, request.ip(), () =>
          hash.verify(user.password, input.password!)
        ))
      if (!ok) {
        session.flashErrors({
          password: [
            input.password
              ? 'Your password is not correct.'
              : 'Enter your password to create a token.',
          ],
        })
        session.flashExcept(['password'])
        return response.redirect(urlFor('auth.api_tokens.index'))
      }
      markConfirmed(ctx)
    }
    // The token may only be bound to a workspace the user belongs to.
    const workspace = (await tokenTenantChoices(user)).find((w) => w.id === input.tenant)
    if (!workspace) {
      session.flashErrors({ tenant: ['Choose one of your workspaces.'] })
      return response.redirect(urlFor('auth.api_tokens.index'))
    }
    const token = await createApiToken({
      user,
      tenantId: workspace.id,
      name: input.name,
      abilities: input.abilities ?? [],
      expiresIn: EXPIRIES[input.expires],
    })
    session.flash('newToken', { name: input.name, secret: token.secret })
    return response.redirect(urlFor('auth.api_tokens.index'))
  }

  async destroy({ params, response, auth, session }: HttpContext) {
    const revoked = await revokeApiToken(auth.user as User, String(params.id))
    if (!revoked) throw new NotFoundException()
    session.flash('success', 'Token revoked.')
    return response.redirect(urlFor('auth.api_tokens.index'))
  }
}
