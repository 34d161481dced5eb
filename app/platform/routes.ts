/*
 * platform routes. Names are prefixed with the module (`platform.<resource>.<action>`).
 */
import router from '@adonisjs/core/services/router'
import { middleware } from '#start/kernel'
import '#platform/openapi'

const NotificationsController = () => import('#platform/controllers/notifications_controller')

router
  .group(() => {
    router
      .get('/notifications', [NotificationsController, 'index'])
      .as('platform.notifications.index')
    router
      .put('/notifications/preferences', [NotificationsController, 'preferences'])
      .as('platform.notification_preferences.update')
    router
      .patch('/notifications', [NotificationsController, 'update'])
      .as('platform.notifications.update_all')
    router
      .patch('/notifications/:id', [NotificationsController, 'update'])
      .as('platform.notifications.update')
  })
  .use(middleware.auth())

router
  .group(() => {
    router
      .get('/notifications', [NotificationsController, 'apiIndex'])
      .as('platform.api.notifications.index')
    router
      .patch('/notifications/:id', [NotificationsController, 'apiUpdate'])
      .as('platform.api.notifications.update')
  })
  .prefix('/api/v1')
  .use([middleware.api(), middleware.apiTenant()])
