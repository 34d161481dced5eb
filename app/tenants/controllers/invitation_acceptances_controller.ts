import type { HttpContext } from '@adonisjs/core/http'
import { User } from '#auth'
import { InvalidInputException, onRefusal, urlFor } from '#core'
import {
  acceptInvitation,
  acceptInvitationAsNewUser,
  findInvitation,
  invitationProblem,
  normaliseEmail,
} from '#tenants/actions/invitations'
import { invitationSignupValidator } from '#tenants/validators/tenants'

/**
 * The invitation link (`/invitations/:token`): the token is the capability, so these routes are
 * global (no tenant in the path) and answer 404 for anything but a live token's hash.
 */
export default class InvitationAcceptancesController {
  /** The invitation page; reading it never changes anything (accepting is a POST). */
  async show(ctx: HttpContext) {
    const token = String(ctx.params.token)
    const found = await findInvitation(token)
    if (!found)
      return this.#render(ctx, 404, {
        problem: 'This invitation link is not valid. Check that you copied all of it.',
      })
    const { invitation, tenant } = found
    const problem = invitationProblem(invitation)
    if (problem) return this.#render(ctx, 410, { tenant, invitation, problem: problem.message })
    const user = (await ctx.auth.check()) ? (ctx.auth.user as User) : null
    const mode = user
      ? normaliseEmail(user.email) === normaliseEmail(invitation.email)
        ? 'accept'
        : 'wrong_email'
      : (await User.query()
            .whereRaw('lower(email) = ?', [normaliseEmail(invitation.email)])
            .first())
        ? 'login'
        : 'signup'
    return this.#render(ctx, 200, { tenant, invitation, token, mode, signedInAs: user?.email })
  }

  /** POST /invitations/:token/acceptance, signed in with the invited address. */
  async store(ctx: HttpContext) {
    const token = String(ctx.params.token)
    onRefusal(ctx, { redirect: urlFor('tenants.invitation_acceptances.show', { token }) })
    const result = await acceptInvitation({ token, user: ctx.auth.user as User })
    if (!result)
      return this.#render(ctx, 404, {
        problem: 'This invitation link is not valid. Check that you copied all of it.',
      })
    ctx.session.flash(
      'success',
      result.alreadyMember
        ? `You are already a member of ${result.tenant.name} (${result.membership.role}).`
        : `Welcome to ${result.tenant.name}!`
    )
    return ctx.response.redirect(urlFor('tenants.tenants.show', { tenant: result.tenant.slug }))
  }

  /**
   * POST /invitations/:token/account: creates the invitee's account (verified: the link reached
   * the address) and joins; then the usual login, which also brings two-factor and session
   * tracking when the account has them.
   */
  async signup(ctx: HttpContext) {
    const token = String(ctx.params.token)
    // The invitation page sends no Referer (its address holds the token): refusals go back to it.
    onRefusal(ctx, { redirect: urlFor('tenants.invitation_acceptances.show', { token }) })
    const input = await ctx.request.validateUsing(invitationSignupValidator)
    const found = await findInvitation(token)
    if (found && input.password.toLowerCase() === normaliseEmail(found.invitation.email))
      throw new InvalidInputException('password', 'Do not use your email address as password.')
    const result = await acceptInvitationAsNewUser({
      token,
      name: input.name,
      password: input.password,
    })
    if (!result)
      return this.#render(ctx, 404, {
        problem: 'This invitation link is not valid. Check that you copied all of it.',
      })
    ctx.session.flash(
      'success',
      `Your account is ready and you joined ${result.tenant.name}. Log in with your new password.`
    )
    ctx.session.flash('email', result.user.email)
    return ctx.response.redirect(
      urlFor(
        'auth.session.create',
        {},
        { qs: { next: urlFor('tenants.tenants.show', { tenant: result.tenant.slug }) } }
      )
    )
  }

  async #render(ctx: HttpContext, status: number, state: Record<string, unknown>) {
    // The token is in the address: never send it on to another site.
    ctx.response.header('Referrer-Policy', 'no-referrer')
    ctx.response.status(status)
    return ctx.view.render('tenants::pages/invitation', { mode: 'problem', ...state })
  }
}
