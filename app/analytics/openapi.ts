/* The analytics module's part of the OpenAPI document. */
import { addApiOperation, addApiSchema } from '#core'
import { usageReportSchema, usageRowSchema } from '#analytics/dtos/usage'
import { usageValidator } from '#analytics/validators/usage'

addApiSchema('UsageRow', usageRowSchema)
addApiSchema('UsageReport', usageReportSchema)

addApiOperation('get', '/analytics/usage', {
  name: 'analytics.api.usage.index',
  summary: 'Usage per day, agent, member or model, from the analytics rollups',
  description:
    'Days are whole days in the workspace time zone; `to` is included. ' +
    'Default: the last 30 days, grouped by day; at most 366 days.',
  ability: 'analytics:read',
  query: usageValidator,
  responses: { 200: { description: 'Rows and totals', json: 'UsageReport' } },
})
