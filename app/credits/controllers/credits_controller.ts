import type { HttpContext } from '@adonisjs/core/http'
import { renderPageOrFragment } from '#core'
import { authorize, currentTenant, roleAllows } from '#tenants'
import { packsJson } from '#credits/services/billing_json'
import { stripeEnabled } from '#credits/services/payments'
import { balanceWidget, ledgerSection } from '#credits/services/presenters'

/** /t/:tenant/credits: the balance widget and the ledger; htmx (filters, paging) gets the ledger alone. */
export default class CreditsController {
  async show(ctx: HttpContext) {
    authorize(ctx, 'credits.read')
    const { tenant, membership } = currentTenant(ctx)
    const ledger = await ledgerSection(ctx, tenant)
    return renderPageOrFragment(
      ctx,
      { page: 'credits::pages/credits', fragment: 'credits::components/ledger' },
      ledger,
      async () => ({
        ledger,
        widget: await balanceWidget(tenant),
        packs: packsJson().map((pack) => ({ ...pack, price: `$${pack.price}` })),
        stripe: stripeEnabled(),
        canManage: roleAllows(membership.role, 'credits.manage'),
      })
    )
  }
}
