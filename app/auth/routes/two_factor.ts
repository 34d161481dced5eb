/* auth: two-factor (TOTP) enrolment, challenge and recovery-code routes (auth.two_factor*). */
import router from '@adonisjs/core/services/router'
import { middleware } from '#start/kernel'

const TwoFactorController = () => import('#auth/controllers/two_factor_controller')
const TwoFactorRecoveryCodesController = () =>
  import('#auth/controllers/two_factor_recovery_codes_controller')
const TwoFactorChallengeController = () =>
  import('#auth/controllers/two_factor_challenge_controller')

// The second login step: the visitor is not signed in yet (the pending login lives in the session).
router
  .group(() => {
    router
      .get('/login/two-factor', [TwoFactorChallengeController, 'create'])
      .as('auth.two_factor_challenge.create')
    router
      .post('/login/two-factor', [TwoFactorChallengeController, 'store'])
      .as('auth.two_factor_challenge.store')
  })
  .use(middleware.guest())

router
  .group(() => {
    router.post('/account/two-factor', [TwoFactorController, 'store']).as('auth.two_factor.store')
    router.put('/account/two-factor', [TwoFactorController, 'update']).as('auth.two_factor.update')
    router
      .delete('/account/two-factor', [TwoFactorController, 'destroy'])
      .as('auth.two_factor.destroy')
    router
      .post('/account/two-factor/recovery-codes', [TwoFactorRecoveryCodesController, 'store'])
      .as('auth.two_factor_recovery_codes.store')
  })
  .use(middleware.auth())
