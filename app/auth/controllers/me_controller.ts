import type { HttpContext } from '@adonisjs/core/http'
import { tokenAbilities } from '#auth/services/api_access'
import { API_ABILITIES } from '#auth/abilities'
import type User from '#auth/models/user'

/** GET /api/v1/me: who the bearer token acts as. */
export default class MeController {
  show(ctx: HttpContext) {
    const user = ctx.auth.use('api').user as User
    const abilities = tokenAbilities(ctx)
    return {
      user: { id: user.id, email: user.email, name: user.name },
      tenant: null,
      role: null,
      abilities: abilities.length ? abilities : [...API_ABILITIES],
    }
  }
}
