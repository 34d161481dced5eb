/*
 * admin routes. Names are prefixed with the module (`admin.<resource>.<action>`).
 */
import app from '@adonisjs/core/services/app'
import router from '@adonisjs/core/services/router'
import { middleware } from '#start/kernel'
import { requirePlatformAdmin } from '#admin/middleware/platform_admin'

const MailboxController = () => import('#admin/controllers/mailbox_controller')
const ListingsController = () => import('#admin/controllers/listings_controller')
const PurchasesController = () => import('#admin/controllers/purchases_controller')

// Marketplace moderation: hide a listing from every workspace, or feature it.
router
  .group(() => {
    router.get('/marketplace', [ListingsController, 'index']).as('admin.listings.index')
    router.put('/marketplace/:id', [ListingsController, 'update']).as('admin.listings.update')
    // Manual payments: invoices marked paid (credited once) or rejected.
    router.get('/purchases', [PurchasesController, 'index']).as('admin.purchases.index')
    router
      .post('/purchases/:id/payment', [PurchasesController, 'pay'])
      .as('admin.purchase_payments.store')
    router
      .post('/purchases/:id/rejection', [PurchasesController, 'reject'])
      .as('admin.purchase_rejections.store')
  })
  .prefix('/admin')
  .use([requirePlatformAdmin, middleware.auth()])

// The development mailbox holds live links; production mails over SMTP and has no such pages.
if (!app.inProduction) {
  router
    .group(() => {
      router.get('/mailbox', [MailboxController, 'index']).as('admin.mailbox.index')
      router.get('/mailbox/:id', [MailboxController, 'show']).as('admin.mailbox.show')
    })
    .prefix('/admin')
    .use([requirePlatformAdmin, middleware.auth()])
}
