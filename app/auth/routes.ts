/*
 * auth routes. Names are prefixed with the module (`auth.<resource>.<action>`).
 */
import router from '@adonisjs/core/services/router'

// Placeholders until the auth issue: the forms exist (CONTRACT.md field names), posting does not.
router.on('/login').render('auth::pages/login').as('auth.session.create')
router.on('/signup').render('auth::pages/signup').as('auth.signup.create')
