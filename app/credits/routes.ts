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

router
  .group(() => {
    router.get('/credits', [CreditsController, 'show']).as('credits.credits.show')
    router.get('/credits/balance', [BalanceController, 'show']).as('credits.balance.show')
    router
      .get('/credits/ledger.csv', [LedgerExportsController, 'show'])
      .as('credits.ledger_exports.show')
  })
  .prefix('/t/:tenant')
  .use([middleware.auth(), middleware.tenant()])

router
  .group(() => {
    router.get('/credits', [ApiBalanceController, 'show']).as('credits.api.balance.show')
    router.get('/credits/ledger', [ApiLedgerController, 'index']).as('credits.api.ledger.index')
  })
  .prefix('/api/v1')
  .use([middleware.api(), middleware.apiTenant()])
