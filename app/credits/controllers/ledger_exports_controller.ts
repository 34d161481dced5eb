import { Readable } from 'node:stream'
import type { HttpContext } from '@adonisjs/core/http'
import { csvChunks, InvalidInputException } from '#core'
import { DateTime } from 'luxon'
import { authorize, currentTenant } from '#tenants'
import { ledgerEntries } from '#credits/services/ledger_query'
import { LEDGER_CSV_COLUMNS, ledgerCsvRow } from '#credits/services/csv'
import {
  filterParams,
  ledgerFiltersValidator,
  resolveMemberFilter,
  toLedgerFilters,
} from '#credits/validators/ledger'

/** /t/:tenant/credits/ledger.csv: the filtered ledger as CSV, streamed page by page. */
export default class LedgerExportsController {
  async show(ctx: HttpContext) {
    authorize(ctx, 'credits.read')
    const { tenant } = currentTenant(ctx)
    const { input, error } = await resolveMemberFilter(
      tenant.id,
      await ledgerFiltersValidator.validate(filterParams(ctx.request.qs()))
    )
    if (error) throw new InvalidInputException('member', error)
    const entries = ledgerEntries(tenant.id, toLedgerFilters(input, tenant.timeZone))
    const stamp = DateTime.now().setZone(tenant.timeZone).toFormat('yyyyLLdd')
    ctx.response.header('content-type', 'text/csv; charset=utf-8')
    ctx.response.header(
      'content-disposition',
      `attachment; filename="ledger-${tenant.slug}-${stamp}.csv"`
    )
    ctx.response.header('cache-control', 'no-store')
    ctx.response.stream(Readable.from(csvChunks(LEDGER_CSV_COLUMNS, entries, ledgerCsvRow)))
  }
}
