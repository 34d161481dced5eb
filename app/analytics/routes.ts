/*
 * analytics routes. Names are prefixed with the module (`analytics.<resource>.<action>`).
 */
import router from '@adonisjs/core/services/router'
import { middleware } from '#start/kernel'
import { platformAdminsOnly } from '#analytics/middleware/platform_admin'
import '#analytics/openapi'

const DashboardController = () => import('#analytics/controllers/dashboard_controller')
const ExportsController = () => import('#analytics/controllers/exports_controller')
const UsageController = () => import('#analytics/controllers/usage_controller')
const PlatformController = () => import('#analytics/controllers/platform_controller')

router
  .group(() => {
    router.get('/analytics', [DashboardController, 'show']).as('analytics.dashboard.show')
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
