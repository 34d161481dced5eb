/*
 * Routes: the core routes (landing, health, metrics, assets) and each module's own routes file.
 * Route names are prefixed with their module (`credits.ledger.show`).
 */
import '#core/routes'
import '#platform/routes'
import '#auth/routes'
import '#tenants/routes'
import '#credits/routes'
import '#agents/routes'
import '#analytics/routes'
import '#admin/routes'
