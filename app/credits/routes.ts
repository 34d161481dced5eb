/*
 * credits routes. Names are prefixed with the module (`credits.<resource>.<action>`).
 */
import router from '@adonisjs/core/services/router'
import { middleware } from '#start/kernel'
import '#credits/openapi'

const CreditsController = () => import('#credits/controllers/credits_controller')
const BalanceController = () => import('#credits/controllers/balance_controller')
const LedgerExportsController = () => import('#credits/controllers/ledger_exports_controller')
const ApiBalanceController = () => import('#credits/controllers/api_balance_controller')
const ApiLedgerController = () => import('#credits/controllers/api_ledger_controller')
const ApiPlansController = () => import('#credits/controllers/api_plans_controller')
const ApiPurchasesController = () => import('#credits/controllers/api_purchases_controller')
const ApiBudgetsController = () => import('#credits/controllers/api_budgets_controller')
const PlansController = () => import('#credits/controllers/plans_controller')
const PurchasesController = () => import('#credits/controllers/purchases_controller')
const BudgetsController = () => import('#credits/controllers/budgets_controller')
const StripeWebhooksController = () => import('#credits/controllers/stripe_webhooks_controller')

router
  .group(() => {
    router.get('/credits', [CreditsController, 'show']).as('credits.credits.show')
    router.get('/credits/balance', [BalanceController, 'show']).as('credits.balance.show')
    router
      .get('/credits/ledger.csv', [LedgerExportsController, 'show'])
      .as('credits.ledger_exports.show')
    router.get('/plans', [PlansController, 'index']).as('credits.plans.index')
    router.post('/plans/changes', [PlansController, 'store']).as('credits.plan_changes.store')
    router.post('/credits/purchases', [PurchasesController, 'store']).as('credits.purchases.store')
    router.get('/credits/purchases/:id', [PurchasesController, 'show']).as('credits.purchases.show')
    router.get('/credits/budgets', [BudgetsController, 'show']).as('credits.budgets.show')
    router.put('/credits/budgets', [BudgetsController, 'update']).as('credits.budgets.update')
  })
  .prefix('/t/:tenant')
  .use([middleware.auth(), middleware.tenant()])

router
  .group(() => {
    router.get('/credits', [ApiBalanceController, 'show']).as('credits.api.balance.show')
    router.get('/credits/ledger', [ApiLedgerController, 'index']).as('credits.api.ledger.index')
    router.get('/plans', [ApiPlansController, 'index']).as('credits.api.plans.index')
    router.get('/credits/packs', [ApiPlansController, 'packs']).as('credits.api.packs.index')
    router
      .get('/credits/purchases', [ApiPurchasesController, 'index'])
      .as('credits.api.purchases.index')
    router
      .post('/credits/purchases', [ApiPurchasesController, 'store'])
      .as('credits.api.purchases.store')
    router
      .get('/credits/purchases/:id', [ApiPurchasesController, 'show'])
      .as('credits.api.purchases.show')
    router.get('/budgets', [ApiBudgetsController, 'show']).as('credits.api.budgets.show')
    router.put('/budgets', [ApiBudgetsController, 'update']).as('credits.api.budgets.update')
  })
  .prefix('/api/v1')
  .use([middleware.api(), middleware.apiTenant()])

// Stripe's deliveries: a stateless path (no session, no CSRF), verified by signature instead.
router
  .post('/webhooks/stripe', [StripeWebhooksController, 'store'])
  .as('credits.stripe_webhooks.store')
