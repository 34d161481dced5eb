import { allowRemoteMetricsReader } from '#core'
import type User from '#auth/models/user'

/** /metrics beyond loopback: a valid API token of an enabled platform admin. */
allowRemoteMetricsReader(async (ctx) => {
  try {
    const user = (await ctx.auth.use('api').authenticate()) as User
    return user.platformAdmin && !user.disabledAt
  } catch {
    return false
  }
})
