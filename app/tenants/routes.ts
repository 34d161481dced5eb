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
const WebhooksController = () => import('#tenants/controllers/webhooks_controller')
const AuditController = () => import('#tenants/controllers/audit_controller')
const MemberOptionsController = () => import('#tenants/controllers/member_options_controller')

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
    router
      .get('/members/options', [MemberOptionsController, 'index'])
      .as('tenants.member_options.index')
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
    router.get('/audit', [AuditController, 'index']).as('tenants.audit.index')
    router.get('/audit.csv', [AuditController, 'export']).as('tenants.audit_exports.show')
    router.get('/webhooks', [WebhooksController, 'page']).as('tenants.webhooks.page')
    router.post('/webhooks', [WebhooksController, 'pageStore']).as('tenants.webhooks.page_store')
    router
      .delete('/webhooks/:id', [WebhooksController, 'pageDestroy'])
      .as('tenants.webhooks.page_destroy')
    router
      .post('/webhooks/:id/secret-rotations', [WebhooksController, 'pageRotate'])
      .as('tenants.webhook_secret_rotations.page_store')
    router
      .post('/webhooks/:id/deliveries/:delivery/redeliveries', [
        WebhooksController,
        'pageRedeliver',
      ])
      .as('tenants.webhook_redeliveries.page_store')
  })
  .prefix('/t/:tenant')
  .use([middleware.auth(), middleware.tenant()])

router
  .group(() => {
    router.get('/me', [MeController, 'show']).as('tenants.me.show')
    // Answered from the token and membership caches: a warm request makes no query at all.
    readsNoTenantRows('tenants.me.show')
    router.get('/webhooks', [WebhooksController, 'index']).as('tenants.api.webhooks.index')
    router.post('/webhooks', [WebhooksController, 'store']).as('tenants.api.webhooks.store')
    router.get('/webhooks/:id', [WebhooksController, 'show']).as('tenants.api.webhooks.show')
    router
      .delete('/webhooks/:id', [WebhooksController, 'destroy'])
      .as('tenants.api.webhooks.destroy')
    router
      .post('/webhooks/:id/secret-rotations', [WebhooksController, 'rotate'])
      .as('tenants.api.webhook_secret_rotations.store')
    router
      .get('/webhooks/:id/deliveries', [WebhooksController, 'deliveries'])
      .as('tenants.api.webhook_deliveries.index')
    router
      .post('/webhooks/:id/deliveries/:delivery/redeliver', [WebhooksController, 'redeliver'])
      .as('tenants.api.webhook_redeliveries.store')
  })
  .prefix('/api/v1')
  .use([middleware.api(), middleware.apiTenant()])
