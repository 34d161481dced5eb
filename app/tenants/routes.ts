/*
 * tenants routes. Names are prefixed with the module (`tenants.<resource>.<action>`).
 */
import router from '@adonisjs/core/services/router'
import { middleware } from '#start/kernel'
import '#tenants/openapi'
import { readsNoTenantRows } from '#tenants/services/tenancy'

const TenantsController = () => import('#tenants/controllers/tenants_controller')
const MembersController = () => import('#tenants/controllers/members_controller')
const MeController = () => import('#tenants/controllers/me_controller')
const InvitationsController = () => import('#tenants/controllers/invitations_controller')
const InvitationAcceptancesController = () =>
  import('#tenants/controllers/invitation_acceptances_controller')
const OwnershipTransfersController = () =>
  import('#tenants/controllers/ownership_transfers_controller')
const DomainController = () => import('#tenants/controllers/domain_controller')
const SecurityController = () => import('#tenants/controllers/security_controller')
const DeletionController = () => import('#tenants/controllers/deletion_controller')
const ExportsController = () => import('#tenants/controllers/exports_controller')

router
  .group(() => {
    router.get('/home', [TenantsController, 'home']).as('tenants.home')
    router.get('/tenants/new', [TenantsController, 'create']).as('tenants.tenants.create')
    router.post('/tenants', [TenantsController, 'store']).as('tenants.tenants.store')
    router
      .post('/invitations/:token/acceptance', [InvitationAcceptancesController, 'store'])
      .as('tenants.invitation_acceptances.store')
  })
  .use(middleware.auth())

// The invitation link works signed out (the token is the capability); signing up needs no session.
router
  .get('/invitations/:token', [InvitationAcceptancesController, 'show'])
  .as('tenants.invitation_acceptances.show')
router
  .post('/invitations/:token/account', [InvitationAcceptancesController, 'signup'])
  .as('tenants.invitation_acceptances.signup')
  .use(middleware.guest())

router
  .group(() => {
    router.get('/', [TenantsController, 'show']).as('tenants.tenants.show')
    router.get('/settings', [TenantsController, 'edit']).as('tenants.settings.edit')
    router.put('/settings', [TenantsController, 'update']).as('tenants.settings.update')
    router.get('/members', [MembersController, 'index']).as('tenants.members.index')
    router.put('/members/:id', [MembersController, 'update']).as('tenants.members.update')
    router.delete('/members/:id', [MembersController, 'destroy']).as('tenants.members.destroy')
    router.post('/invitations', [InvitationsController, 'store']).as('tenants.invitations.store')
    router
      .post('/invitations/:id/renewal', [InvitationsController, 'renew'])
      .as('tenants.invitations.renew')
    router
      .delete('/invitations/:id', [InvitationsController, 'destroy'])
      .as('tenants.invitations.destroy')
    router
      .post('/ownership-transfers', [OwnershipTransfersController, 'store'])
      .as('tenants.ownership_transfers.store')
    router.put('/domain', [DomainController, 'update']).as('tenants.domain.update')
    router.delete('/domain', [DomainController, 'destroy']).as('tenants.domain.destroy')
    router.post('/domain/verification', [DomainController, 'verify']).as('tenants.domain.verify')
    router.put('/security', [SecurityController, 'update']).as('tenants.security.update')
    router.post('/deletion', [DeletionController, 'store']).as('tenants.deletion.store')
    router.delete('/deletion', [DeletionController, 'destroy']).as('tenants.deletion.destroy')
    router.get('/export.json', [ExportsController, 'show']).as('tenants.export.show')
  })
  .prefix('/t/:tenant')
  .use([middleware.auth(), middleware.tenant()])

router
  .group(() => {
    router.get('/me', [MeController, 'show']).as('tenants.me.show')
    // Answered from the token and membership caches: a warm request makes no query at all.
    readsNoTenantRows('tenants.me.show')
  })
  .prefix('/api/v1')
  .use([middleware.api(), middleware.apiTenant()])
