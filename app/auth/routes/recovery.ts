/*
 * auth: email verification, password reset and email change routes (auth.email_verification.*,
 * auth.password_reset.*, auth.account_email.*). A link in a mail only ever opens a page; the
 * change happens when its form is POSTed (mail scanners follow links).
 */
import router from '@adonisjs/core/services/router'
import { middleware } from '#start/kernel'

const EmailVerificationsController = () =>
  import('#auth/controllers/email_verifications_controller')
const PasswordResetsController = () => import('#auth/controllers/password_resets_controller')
const AccountEmailController = () => import('#auth/controllers/account_email_controller')

// Open to everyone: a link may be opened in a browser signed in as anyone, or no one.
router
  .get('/email-verifications/:token', [EmailVerificationsController, 'show'])
  .as('auth.email_verification.show')
router
  .post('/email-verifications/:token', [EmailVerificationsController, 'update'])
  .as('auth.email_verification.update')
router
  .get('/password-resets/new', [PasswordResetsController, 'create'])
  .as('auth.password_reset.create')
router.post('/password-resets', [PasswordResetsController, 'store']).as('auth.password_reset.store')
router
  .get('/password-resets/:token', [PasswordResetsController, 'show'])
  .as('auth.password_reset.show')
router
  .post('/password-resets/:token', [PasswordResetsController, 'update'])
  .as('auth.password_reset.update')

router
  .group(() => {
    router
      .post('/email-verifications', [EmailVerificationsController, 'store'])
      .as('auth.email_verification.store')
    router.put('/account/email', [AccountEmailController, 'update']).as('auth.account_email.update')
  })
  .use(middleware.auth())
