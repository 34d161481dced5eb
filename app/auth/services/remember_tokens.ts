import { HttpContext } from '@adonisjs/core/http'
import db from '@adonisjs/lucid/services/db'
import { DbRememberMeTokensProvider } from '@adonisjs/auth/session'
import type { LucidModel } from '@adonisjs/lucid/types/model'
import { forgetSessions } from '#auth/services/token_cache'

/** Remember-me tokens issued during a request (a login with "remember me", or a restore). */
const issued = new WeakMap<HttpContext, number>()

/** The remember-me token this request issued, if any. */
export function issuedRememberToken(ctx: HttpContext) {
  return issued.get(ctx) ?? null
}

/**
 * Remember-me tokens bound to tracked sessions (`user_sessions.remember_token_id`): the request
 * learns the id of a token it issues, and recycling a token moves its session's binding to the
 * successor, so one session row lives as long as its chain of tokens.
 */
export class SessionBoundRememberTokens<
  Model extends LucidModel,
> extends DbRememberMeTokensProvider<Model> {
  async create(...args: Parameters<DbRememberMeTokensProvider<Model>['create']>) {
    const token = await super.create(...args)
    const ctx = HttpContext.get()
    if (ctx) issued.set(ctx, Number(token.identifier))
    return token
  }

  async recycle(...args: Parameters<DbRememberMeTokensProvider<Model>['recycle']>) {
    const token = await super.recycle(...args)
    const rebound: { id: string }[] = await db
      .from('user_sessions')
      .where('remember_token_id', Number(args[1]))
      .update({ remember_token_id: Number(token.identifier) }, ['id'])
    await forgetSessions(rebound.map((row) => row.id))
    return token
  }
}
