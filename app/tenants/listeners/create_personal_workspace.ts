import { User, type UserSignedUp } from '#auth'
import { createTenant, slugify } from '#tenants/actions/create_tenant'

/** Every new account gets a personal workspace it owns. */
export default class CreatePersonalWorkspace {
  async handle(event: UserSignedUp) {
    const user = await User.findOrFail(event.userId)
    const firstName = user.name.split(/\s+/)[0] || 'My'
    await createTenant({
      name: `${firstName}'s workspace`,
      slug: slugify(user.name),
      ownerId: user.id,
      uniqueSlug: true,
    })
  }
}
