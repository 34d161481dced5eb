import type { HttpContext } from '@adonisjs/core/http'
import { InvalidInputException, pageParams } from '#core'
import { authorize, currentTenant } from '#tenants'
import { listLedger } from '#credits/services/ledger_query'
import { entryJson } from '#credits/services/presenters'
import {
  filterParams,
  ledgerFiltersValidator,
  resolveMemberFilter,
  toLedgerFilters,
} from '#credits/validators/ledger'

/** GET /api/v1/credits/ledger: entries newest first, `{data, next_cursor}`, keyset paging. */
export default class ApiLedgerController {
  async index(ctx: HttpContext) {
    authorize(ctx, 'credits.read')
    const { tenant } = currentTenant(ctx)
    const { limit, cursor } = pageParams(ctx)
    const { input, error } = await resolveMemberFilter(
      tenant.id,
      await ledgerFiltersValidator.validate(filterParams(ctx.request.qs()))
    )
    if (error) throw new InvalidInputException('member', error)
    const page = await listLedger(tenant.id, {
      limit,
      cursor,
      filters: toLedgerFilters(input, tenant.timeZone),
    })
    return { data: page.entries.map(entryJson), next_cursor: page.nextCursor }
  }
}
