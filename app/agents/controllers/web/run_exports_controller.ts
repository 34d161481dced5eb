import { Readable } from 'node:stream'
import type { HttpContext } from '@adonisjs/core/http'
import { DateTime } from 'luxon'
import { csvChunks, csvField, formatCredits, InvalidInputException } from '#core'
import { authorize, currentTenant } from '#tenants'
import {
  runListFilters,
  runListQuery,
  runListRows,
  type RunListRow,
} from '#agents/services/run_list'

const COLUMNS = [
  'id',
  'created_at',
  'agent',
  'workflow',
  'status',
  'model',
  'member_id',
  'input_tokens',
  'output_tokens',
  'cost_credits',
  'latency_ms',
  'source',
  'error',
]

/**
 * /t/:tenant/runs.csv: the runs the list shows for the same filters, as CSV, streamed in keyset
 * pages of 250 (memory stays flat whatever the size; bench/exports.js measures a million rows).
 */
export default class RunExportsController {
  async show(ctx: HttpContext) {
    authorize(ctx, 'runs.read')
    const { tenant } = currentTenant(ctx)
    const filters = runListFilters(ctx.request.qs())
    // A bad filter is refused before the download starts (the list shows it next to its field).
    const [field, messages] = Object.entries((await runListQuery(tenant, filters)).errors)[0] ?? []
    if (field) throw new InvalidInputException(field, messages![0])
    const line = (run: RunListRow) =>
      [
        csvField(run.id),
        csvField(run.created_at.toISOString()),
        csvField(run.agent_slug),
        csvField(run.workflow_slug),
        csvField(run.status),
        csvField(run.model, true),
        csvField(run.member_id),
        csvField(run.input_tokens),
        csvField(run.output_tokens),
        csvField(formatCredits(run.cost_micros)),
        csvField(run.latency_ms),
        csvField(run.source),
        csvField(run.error, true),
      ].join(',') + '\r\n'
    const stamp = DateTime.now().setZone(tenant.timeZone).toFormat('yyyyLLdd')
    ctx.response.header('content-type', 'text/csv; charset=utf-8')
    ctx.response.header(
      'content-disposition',
      `attachment; filename="runs-${tenant.slug}-${stamp}.csv"`
    )
    ctx.response.header('cache-control', 'no-store')
    ctx.response.stream(Readable.from(csvChunks(COLUMNS, runListRows(tenant, filters), line)))
  }
}
