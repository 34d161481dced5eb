import type { ApiClient } from '@japa/api-client'
import type { User } from '#auth'
import { InvitationMail } from '#tenants/services/invitation_mail'
import { capturedMails, type fakeMail, pathOf } from '#tests/helpers/mail'
import { createUser, WebSession } from '#tests/helpers/web_session'
import { createWorkspace } from '#tests/helpers/tenants'

/** A workspace with its owner. */
export async function ownedWorkspace(name = 'Acme') {
  const owner = await createUser({ name: `${name} Owner` })
  const tenant = await createWorkspace(owner, name)
  return { owner, tenant }
}

/** A browser signed in as `user` (throws unless the login form redirects away from /login). */
export async function signedIn(client: ApiClient, user: User) {
  const web = new WebSession(client)
  const response = await web.login(user.email)
  if (response.status() !== 302 || String(response.header('location')).startsWith('/login')) {
    throw new Error(
      `login of ${user.email} failed: ${response.status()} ${response.header('location')}`
    )
  }
  return web
}

/** Paths of the invitation links mailed to `to`, oldest first. */
export function invitationPaths(fake: ReturnType<typeof fakeMail>, to: string) {
  return capturedMails(fake, InvitationMail, to).map((mail) => pathOf(mail.link))
}

/** The flash messages a redirect left, read from the page it points to. */
export async function followFlash(web: WebSession, location: string | undefined) {
  const page = await web.get(location ?? '/')
  return page.text()
}
