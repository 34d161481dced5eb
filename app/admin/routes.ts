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
const SystemController = () => import('#admin/controllers/system_controller')
const TenantsController = () => import('#admin/controllers/tenants_controller')
const UsersController = () => import('#admin/controllers/users_controller')
const FlagsController = () => import('#admin/controllers/flags_controller')
const AuditController = () => import('#admin/controllers/audit_controller')
const CatalogController = () => import('#admin/controllers/catalog_controller')
const PlansController = () => import('#admin/controllers/plans_controller')

// The admin area: platform admins only (everyone else gets 404); every action is audited.
router
  .group(() => {
    router.get('/', [SystemController, 'show']).as('admin.system.show')
    router.get('/tenants', [TenantsController, 'index']).as('admin.tenants.index')
    router.get('/tenants/:id', [TenantsController, 'show']).as('admin.tenants.show')
    router
      .post('/tenants/:id/suspension', [TenantsController, 'suspend'])
      .as('admin.tenant_suspensions.store')
    router
      .delete('/tenants/:id/suspension', [TenantsController, 'lift'])
      .as('admin.tenant_suspensions.destroy')
    router
      .post('/tenants/:id/plan-changes', [TenantsController, 'changePlan'])
      .as('admin.tenant_plan_changes.store')
    router
      .post('/tenants/:id/credit-entries', [TenantsController, 'credit'])
      .as('admin.tenant_credit_entries.store')
    router.get('/users', [UsersController, 'index']).as('admin.users.index')
    router.get('/users/:id', [UsersController, 'show']).as('admin.users.show')
    router
      .post('/users/:id/disablement', [UsersController, 'disable'])
      .as('admin.user_disablements.store')
    router
      .delete('/users/:id/disablement', [UsersController, 'enable'])
      .as('admin.user_disablements.destroy')
    router
      .delete('/users/:id/two-factor', [UsersController, 'resetTwoFactor'])
      .as('admin.user_two_factor.destroy')
    router
      .post('/users/:id/impersonation', [UsersController, 'impersonate'])
      .as('admin.user_impersonations.store')
    router.get('/catalog', [CatalogController, 'index']).as('admin.catalog.index')
    router
      .post('/catalog/providers', [CatalogController, 'storeProvider'])
      .as('admin.catalog_providers.store')
    router
      .post('/catalog/models', [CatalogController, 'storeModel'])
      .as('admin.catalog_models.store')
    router
      .post('/catalog/prices', [CatalogController, 'storePrice'])
      .as('admin.catalog_prices.store')
    router.get('/plans', [PlansController, 'index']).as('admin.plans.index')
    router.put('/plans/:id', [PlansController, 'update']).as('admin.plans.update')
    router.get('/flags', [FlagsController, 'index']).as('admin.flags.index')
    router.put('/flags', [FlagsController, 'update']).as('admin.flags.update')
    router.get('/audit', [AuditController, 'index']).as('admin.audit.index')
    router.get('/audit.csv', [AuditController, 'export']).as('admin.audit_exports.show')
    // Marketplace moderation: hide a listing from every workspace, or feature it.
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
