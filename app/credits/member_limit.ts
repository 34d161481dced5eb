/* Plans limit their workspaces' members (registered through the tenants door). */
import { registerMemberLimit } from '#tenants'
import { findPlan } from '#credits/services/plans'

registerMemberLimit(async (planId) => {
  const plan = await findPlan(planId)
  return plan ? { limit: plan.maxMembers, planName: plan.name } : null
})
