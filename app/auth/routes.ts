/*
 * auth routes. Names are prefixed with the module (`auth.<resource>.<action>`).
 */
import router from '@adonisjs/core/services/router'
import { middleware } from '#start/kernel'

const SignupController = () => import('#auth/controllers/signup_controller')
const ImpersonationController = () => import('#auth/controllers/impersonation_controller')
const SessionController = () => import('#auth/controllers/session_controller')
const AccountController = () => import('#auth/controllers/account_controller')
const PasswordController = () => import('#auth/controllers/password_controller')
const UserSessionsController = () => import('#auth/controllers/user_sessions_controller')
const ApiTokensController = () => import('#auth/controllers/api_tokens_controller')

router
  .group(() => {
    router.get('/signup', [SignupController, 'create']).as('auth.signup.create')
    router.post('/signup', [SignupController, 'store']).as('auth.signup.store')
    router.get('/login', [SessionController, 'create']).as('auth.session.create')
    router.post('/login', [SessionController, 'store']).as('auth.session.store')
  })
  .use(middleware.guest())

router
  .group(() => {
    router.delete('/session', [SessionController, 'destroy']).as('auth.session.destroy')
    router
      .delete('/impersonation', [ImpersonationController, 'destroy'])
      .as('auth.impersonation.destroy')
    router.get('/account', [AccountController, 'show']).as('auth.account.show')
    router.put('/account', [AccountController, 'update']).as('auth.account.update')
    router.delete('/account', [AccountController, 'destroy']).as('auth.account.destroy')
    router.put('/account/password', [PasswordController, 'update']).as('auth.password.update')
    router
      .delete('/account/sessions/:id', [UserSessionsController, 'destroy'])
      .as('auth.user_sessions.destroy')
    router.get('/account/tokens', [ApiTokensController, 'index']).as('auth.api_tokens.index')
    router.post('/account/tokens', [ApiTokensController, 'store']).as('auth.api_tokens.store')
    router
      .delete('/account/tokens/:id', [ApiTokensController, 'destroy'])
      .as('auth.api_tokens.destroy')
  })
  .use(middleware.auth())

import '#auth/routes/recovery'
import '#auth/routes/two_factor'
