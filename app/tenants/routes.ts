/*
 * tenants routes. Names are prefixed with the module (`tenants.<resource>.<action>`).
 */
import router from '@adonisjs/core/services/router'
import { middleware } from '#start/kernel'
import '#tenants/hooks'

const TenantsController = () => import('#tenants/controllers/tenants_controller')
const MembersController = () => import('#tenants/controllers/members_controller')
const MeController = () => import('#tenants/controllers/me_controller')

router
  .group(() => {
    router.get('/home', [TenantsController, 'home']).as('tenants.home')
    router.get('/tenants/new', [TenantsController, 'create']).as('tenants.tenants.create')
    router.post('/tenants', [TenantsController, 'store']).as('tenants.tenants.store')
  })
  .use(middleware.auth())

router
  .group(() => {
    router.get('/', [TenantsController, 'show']).as('tenants.tenants.show')
    router.get('/settings', [TenantsController, 'edit']).as('tenants.settings.edit')
    router.put('/settings', [TenantsController, 'update']).as('tenants.settings.update')
    router.get('/members', [MembersController, 'index']).as('tenants.members.index')
    router.put('/members/:id', [MembersController, 'update']).as('tenants.members.update')
    router.delete('/members/:id', [MembersController, 'destroy']).as('tenants.members.destroy')
  })
  .prefix('/t/:tenant')
  .use([middleware.auth(), middleware.tenant()])

router
  .group(() => {
    router.get('/me', [MeController, 'show']).as('tenants.me.show')
  })
  .prefix('/api/v1')
  .use([middleware.api(), middleware.apiTenant()])
