import app from '@adonisjs/core/services/app'
import { urlFor } from '#core'

/** The admin area's sections, for the nav of every admin page. */
export function adminLinks() {
  return [
    { label: 'System', href: urlFor('admin.system.show') },
    { label: 'Tenants', href: urlFor('admin.tenants.index') },
    { label: 'Users', href: urlFor('admin.users.index') },
    { label: 'Purchases', href: urlFor('admin.purchases.index') },
    { label: 'Catalog', href: urlFor('admin.catalog.index') },
    { label: 'Plans', href: urlFor('admin.plans.index') },
    { label: 'Marketplace', href: urlFor('admin.listings.index') },
    { label: 'Flags', href: urlFor('admin.flags.index') },
    { label: 'Audit', href: urlFor('admin.audit.index') },
    ...(app.inProduction ? [] : [{ label: 'Mailbox', href: urlFor('admin.mailbox.index') }]),
  ]
}
