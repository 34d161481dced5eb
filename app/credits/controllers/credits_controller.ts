import type { HttpContext } from '@adonisjs/core/http'
import { renderPageOrFragment } from '#core'
import { authorize, currentTenant } from '#tenants'
import { balanceWidget, ledgerSection } from '#credits/services/presenters'

/** /t/:tenant/credits: the balance widget and the ledger; htmx (filters, paging) gets the ledger alone. */
export default class CreditsController {
  async show(ctx: HttpContext) {
    authorize(ctx, 'credits.read')
    const { tenant } = currentTenant(ctx)
    const ledger = await ledgerSection(ctx, tenant)
    return renderPageOrFragment(
      ctx,
      { page: 'credits::pages/credits', fragment: 'credits::components/ledger' },
      ledger,
      async () => ({ ledger, widget: await balanceWidget(tenant) })
    )
  }
}
