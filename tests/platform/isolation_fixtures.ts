/*
 * Isolation-matrix fixtures of the platform module: a notification of tenant B's owner, which
 * tenant A's owner must get as 404 (notifications belong to one user).
 */
import type { IsolationFixture } from '#tests/tenants/isolation'
import { notify } from '#platform'

export const fixtures: IsolationFixture[] = [
  {
    routes: ['/notifications/:id', '/api/v1/notifications/:id'],
    params: async ({ b }) => {
      await notify({
        recipients: [{ userId: b.owner.id, email: b.owner.email }],
        tenantId: b.tenant.id,
        kind: 'credits.low',
        title: 'B only',
        body: 'B only',
        dedupeKey: `iso:${b.tenant.id}`,
      })
      const { listNotifications } = await import('#platform')
      const page = await listNotifications(b.owner.id, { limit: 1, cursor: null })
      return { id: page.rows[0].id }
    },
    body: { read: true },
  },
]
