import type Tenant from '#tenants/models/tenant'
import type Membership from '#tenants/models/membership'

/**
 * A panel of the workspace home, from the module that owns its data (credits, agents): tenants
 * cannot import them, so each registers its panel from a file its door imports. `load` runs
 * bound to the tenant, should cost one statement, and returns null to leave the panel out (a
 * role that may not see it).
 */
export type HomePanel = {
  name: string
  /** Edge component rendering the panel, given `load`'s result plus `tenant`. */
  component: string
  /** Lower first. */
  order: number
  load: (tenant: Tenant, membership: Membership) => Promise<Record<string, unknown> | null>
}

const panels: HomePanel[] = []

export function registerHomePanel(panel: HomePanel) {
  if (panels.some((p) => p.name === panel.name))
    throw new Error(`home panel "${panel.name}" is already registered`)
  panels.push(panel)
  panels.sort((a, b) => a.order - b.order)
}

/**
 * The panels this member sees, in order. One after another: a page's reads share its one
 * tenant-bound connection, so running them at once would only queue them there.
 */
export async function loadHomePanels(tenant: Tenant, membership: Membership) {
  const loaded = []
  for (const panel of panels) {
    const data = await panel.load(tenant, membership)
    if (data) loaded.push({ component: panel.component, data: { ...data, tenant } })
  }
  return loaded
}
