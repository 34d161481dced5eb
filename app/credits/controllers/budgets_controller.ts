import type { HttpContext } from '@adonisjs/core/http'
import { formatCredits, parseCredits, urlFor } from '#core'
import { assertWritable, authorize, currentTenant, Membership, roleAllows } from '#tenants'
import { User } from '#auth'
import db from '@adonisjs/lucid/services/db'
import { agentNames, findBudgetAgent, listBudgets, spentByBudget } from '#credits/services/budgets'
import { lowBalanceThreshold } from '#credits/services/alerts'
import { periodAt } from '#credits/services/periods'
import { setBudgets } from '#credits/actions/set_budgets'
import { budgetsInput } from '#credits/services/billing_json'

/**
 * /t/:tenant/credits/budgets: this month's spend against each budget, and the editor. A member is
 * named by email and an agent by slug (no list of every member or agent is loaded); the form
 * saves the whole set (PUT).
 */
export default class BudgetsController {
  async show(ctx: HttpContext) {
    authorize(ctx, 'credits.read')
    const { tenant, membership } = currentTenant(ctx)
    const budgets = await listBudgets(tenant.id)
    const period = periodAt(new Date(), tenant.timeZone)
    const ids = (scope: string) => budgets.filter((b) => b.scope === scope).map((b) => b.subjectId)
    const [spent, agents, users, lowBalance] = await Promise.all([
      spentByBudget(
        db,
        tenant.id,
        { members: ids('member'), agents: ids('agent') },
        period.start.toJSDate(),
        false
      ),
      agentNames(tenant.id, ids('agent')),
      ids('member').length
        ? User.query().whereIn('id', ids('member')).select('id', 'email')
        : Promise.resolve([]),
      lowBalanceThreshold(tenant.id),
    ])
    const userOf = new Map(users.map((u) => [u.id, u]))
    const rows = budgets.map((budget) => {
      const used = spent.get(`${budget.scope}:${budget.subjectId}`) ?? 0n
      const user = userOf.get(budget.subjectId)
      return {
        scope: budget.scope,
        subjectId: budget.subjectId,
        name:
          budget.scope === 'agent'
            ? (agents.get(budget.subjectId) ?? 'Deleted agent')
            : (user?.email ?? 'Former member'),
        limit: formatCredits(budget.limit),
        spent: formatCredits(used),
        percent: Number((used * 100n) / budget.limit),
      }
    })
    return ctx.view.render('credits::pages/budgets', {
      rows,
      period: period.start.toFormat('LLLL yyyy'),
      lowBalance: lowBalance === null ? '' : formatCredits(lowBalance),
      canManage: roleAllows(membership.role, 'credits.manage'),
    })
  }

  /**
   * PUT /t/:tenant/credits/budgets: rows `scope[]`, `subject[]` (an agent id, or a member's email)
   * and `limit[]` (an empty limit removes the row), plus `low_balance`.
   */
  async update(ctx: HttpContext) {
    authorize(ctx, 'credits.manage')
    assertWritable(ctx)
    const { tenant, membership } = currentTenant(ctx)
    const list = (name: string) =>
      [ctx.request.input(name, [])].flat().map((v) => String(v ?? '').trim())
    const scopes = list('scope')
    const subjects = list('subject')
    const limits = list('limit')
    const body: {
      members: Record<string, string>
      agents: Record<string, string>
      low_balance: string | null
    } = {
      members: {},
      agents: {},
      low_balance: String(ctx.request.input('low_balance') ?? '').trim() || null,
    }
    const back = urlFor('credits.budgets.show', { tenant: tenant.slug })
    for (const [index, scope] of scopes.entries()) {
      const subject = subjects[index] ?? ''
      const limit = limits[index] ?? ''
      if (!subject || !limit) continue
      if (parseCredits(limit) === null || parseCredits(limit)! <= 0n) {
        ctx.session.flash('error', `"${limit}" is not a positive amount of credits.`)
        return ctx.response.redirect(back)
      }
      if (scope === 'member') {
        const user = subject.includes('@')
          ? await User.query().whereRaw('lower(email) = lower(?)', [subject]).select('id').first()
          : null
        const member =
          user &&
          (await Membership.query().where('tenantId', tenant.id).where('userId', user.id).first())
        if (!member) {
          ctx.session.flash('error', `${subject} is not a member of this workspace.`)
          return ctx.response.redirect(back)
        }
        body.members[user!.id] = limit
      } else {
        const agent = await findBudgetAgent(tenant.id, subject)
        if (!agent) {
          ctx.session.flash('error', `No agent "${subject}" in this workspace.`)
          return ctx.response.redirect(back)
        }
        body.agents[agent.id] = limit
      }
    }
    await setBudgets(tenant.id, budgetsInput(body), { actorId: membership.userId })
    ctx.session.flash('success', 'Budgets saved. They apply to this month and every month after.')
    return ctx.response.redirect(back)
  }
}
