import vine from '@vinejs/vine'
import type { Infer } from '@vinejs/vine/types'
import { creditsSchema, formatCredits } from '#core'
import type { UsageRow } from '#analytics/services/reports'

const latency = () =>
  vine
    .number()
    .withoutDecimals()
    .nullable()
    .meta({ description: 'Milliseconds, from the latency histogram (within ~1 %)' })

const figures = {
  runs: vine.number().withoutDecimals(),
  errors: vine.number().withoutDecimals().meta({ description: 'Runs that ended failed' }),
  input_tokens: vine.number().withoutDecimals(),
  output_tokens: vine.number().withoutDecimals(),
  credits: creditsSchema('Credits charged, as a decimal string'),
  latency_p50_ms: latency(),
  latency_p95_ms: latency(),
}

/** One row of the usage report (OpenAPI `UsageRow`). */
export const usageRowSchema = vine.object({
  key: vine
    .string()
    .nullable()
    .meta({
      description:
        'The day (YYYY-MM-DD, workspace time zone) or the agent / member (user) id or model name; ' +
        'null for runs without one',
    }),
  label: vine.string().meta({ description: 'The day, or the agent, member or model name' }),
  ...figures,
})

/** The usage report: its rows and their totals (OpenAPI `UsageReport`). */
export const usageReportSchema = vine.object({
  data: vine.array(usageRowSchema),
  totals: vine.object(figures),
})

function rowJson(row: UsageRow, groupBy: string): Infer<typeof usageRowSchema> {
  return {
    key: row.key,
    label: groupBy === 'day' ? (row.key ?? row.label) : row.label,
    runs: row.runs,
    errors: row.errors,
    input_tokens: row.inputTokens,
    output_tokens: row.outputTokens,
    credits: formatCredits(row.creditsMicros),
    latency_p50_ms: row.latencyP50,
    latency_p95_ms: row.latencyP95,
  }
}

/** The API's shape of a usage report grouped by day, agent, member or model. */
export function usageReportJson(
  report: { rows: UsageRow[]; total: UsageRow },
  groupBy: string
): Infer<typeof usageReportSchema> {
  const { key: _key, label: _label, ...totals } = rowJson(report.total, groupBy)
  return { data: report.rows.map((row) => rowJson(row, groupBy)), totals }
}
