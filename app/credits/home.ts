/* The credits panel of the workspace home (registered through the tenants door): one statement. */
import { registerHomePanel, roleAllows } from '#tenants'
import { balanceWidget } from '#credits/services/presenters'

registerHomePanel({
  name: 'balance',
  component: 'credits::components/home_balance',
  order: 10,
  async load(tenant, membership) {
    if (!roleAllows(membership.role, 'credits.read')) return null
    return {
      ...(await balanceWidget(tenant)),
      canBuy: roleAllows(membership.role, 'credits.manage'),
    }
  },
})
