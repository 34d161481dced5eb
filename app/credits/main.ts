/**
 * credits — credit accounts, the append-only ledger, holds, plans, grants, budgets.
 * This file is the module's ONE public door: other modules import `#credits`, never `#credits/...`.
 */
export const moduleName = 'credits'
