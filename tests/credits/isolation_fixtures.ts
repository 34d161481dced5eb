/*
 * Isolation-matrix fixtures of the credits module: tenant B's purchase, which tenant A's owner
 * must get as 404 on the page and the API.
 */
import type { IsolationFixture } from '#tests/tenants/isolation'
import { startPurchase } from '#credits/actions/purchases'

export const fixtures: IsolationFixture[] = [
  {
    routes: ['/t/:tenant/credits/purchases/:id', '/api/v1/credits/purchases/:id'],
    params: async ({ b }) => {
      const purchase = await startPurchase({
        tenantId: b.tenant.id,
        item: { pack: 'starter' },
        provider: 'manual',
        actorId: b.owner.id,
        urls: () => ({ success: 'http://x.test/ok', cancel: 'http://x.test/cancel' }),
      })
      return { id: purchase.id }
    },
  },
]
