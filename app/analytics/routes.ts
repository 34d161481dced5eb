/*
 * analytics routes. Names are prefixed with the module (`analytics.<resource>.<action>`).
 */
import router from '@adonisjs/core/services/router'
import { addApiPath, addApiSchema } from '#core'
import { middleware } from '#start/kernel'
import { platformAdminsOnly } from '#analytics/middleware/platform_admin'
import { GROUP_BY } from '#analytics/validators/usage'

const DashboardController = () => import('#analytics/controllers/dashboard_controller')
const ExportsController = () => import('#analytics/controllers/exports_controller')
const UsageController = () => import('#analytics/controllers/usage_controller')
const PlatformController = () => import('#analytics/controllers/platform_controller')

router
  .group(() => {
    router.get('/analytics', [DashboardController, 'show']).as('analytics.dashboard.show')
    router.get('/analytics/kpis', [DashboardController, 'kpis']).as('analytics.kpis.show')
    for (const table of ['days', 'agents', 'members', 'models', 'errors']) {
      router
        .get(`/analytics/${table}.csv`, [ExportsController, 'show'])
        .as(`analytics.exports.${table}`)
    }
  })
  .prefix('/t/:tenant')
  .use([middleware.auth(), middleware.tenant()])

router
  .get('/admin/analytics', [PlatformController, 'show'])
  .as('analytics.platform.show')
  .use([platformAdminsOnly, middleware.auth()])

router
  .get('/api/v1/analytics/usage', [UsageController, 'index'])
  .as('analytics.api.usage.index')
  .use([middleware.api(), middleware.apiTenant()])

const nullableMs = {
  type: ['integer', 'null'],
  description: 'Milliseconds, from the latency histogram (within ~1 %)',
}
const figures = {
  runs: { type: 'integer' },
  errors: { type: 'integer', description: 'Runs that ended failed' },
  input_tokens: { type: 'integer' },
  output_tokens: { type: 'integer' },
  credits: {
    type: 'string',
    pattern: '^\\d+(\\.\\d{1,6})?$',
    description: 'Credits charged, as a decimal string',
  },
  latency_p50_ms: nullableMs,
  latency_p95_ms: nullableMs,
}
addApiSchema('UsageRow', {
  type: 'object',
  required: ['key', 'label', ...Object.keys(figures)],
  properties: {
    key: {
      type: ['string', 'null'],
      description:
        'The day (YYYY-MM-DD, workspace time zone) or the agent / member (user) id or model name; null for runs without one',
    },
    label: { type: 'string', description: 'The day, or the agent, member or model name' },
    ...figures,
  },
})
addApiPath('/analytics/usage', {
  get: {
    summary: 'Usage per day, agent, member or model, from the analytics rollups',
    description:
      'Needs the `analytics:read` ability. Days are whole days in the workspace time zone; `to` is included. Default: the last 30 days; at most 366 days.',
    parameters: [
      { name: 'from', in: 'query', required: false, schema: { type: 'string', format: 'date' } },
      { name: 'to', in: 'query', required: false, schema: { type: 'string', format: 'date' } },
      {
        name: 'group_by',
        in: 'query',
        required: false,
        schema: { type: 'string', enum: [...GROUP_BY], default: 'day' },
      },
    ],
    responses: {
      '200': {
        description: 'Rows and totals',
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['data', 'totals'],
              properties: {
                data: { type: 'array', items: { $ref: '#/components/schemas/UsageRow' } },
                totals: { type: 'object', properties: figures },
              },
            },
          },
        },
      },
      ...Object.fromEntries(
        ['401', '403', '422'].map((status) => [
          status,
          {
            description: 'Problem document',
            content: {
              'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
            },
          },
        ])
      ),
    },
  },
})
