import type { HttpContext } from '@adonisjs/core/http'

export type LinkFlow = 'verification' | 'reset'
export type LinkProblem = 'unknown' | 'expired' | 'used' | 'taken'

const STATUS: Record<LinkProblem, number> = { unknown: 404, expired: 410, used: 410, taken: 409 }

/**
 * Pages reached through a mailed link carry a secret in their URL: keep it out of Referer
 * headers and out of caches.
 */
export function guardSecretUrl({ response }: HttpContext) {
  response.header('Referrer-Policy', 'no-referrer')
  response.header('Cache-Control', 'no-store')
}

/** The signed-in user, if any, for the nav of pages open to everyone. */
export async function signedInUser(ctx: HttpContext) {
  const web = ctx.auth.use('web')
  return (await web.check()) ? web.user : null
}

/** The friendly page for a link that cannot be used (404 unknown, 410 expired/used, 409 taken), with a way forward. */
export async function renderLinkProblem(ctx: HttpContext, flow: LinkFlow, problem: LinkProblem) {
  guardSecretUrl(ctx)
  const user = await signedInUser(ctx)
  ctx.response.status(STATUS[problem])
  return ctx.view.render('auth::pages/link_problem', {
    flow,
    problem,
    user,
    signedIn: Boolean(user),
  })
}
