import db from '@adonisjs/lucid/services/db'
import logger from '@adonisjs/core/services/logger'
import { formatCredits, urlFor } from '#core'
import { appUrl } from '#config/app'
import { notify, type Recipient } from '#platform'
import { Membership, Tenant, tenantTimeZone, withTenant } from '#tenants'
import { User } from '#auth'
import { balanceOf } from '#credits/services/accounts'
import { agentNames, listBudgets, spentByBudget, type Budget } from '#credits/services/budgets'
import { periodAt } from '#credits/services/periods'
import BudgetThresholdReached from '#credits/events/budget_threshold_reached'
import CreditsRanLow from '#credits/events/credits_ran_low'

export const BUDGET_THRESHOLDS = [50, 80, 100] as const

type AlertConfig = { budgets: Budget[]; lowBalance: bigint | null; until: number }
const CONFIG_TTL_MS = 30_000
const configs = new Map<string, AlertConfig>()
const pending = new Set<Promise<void>>()

/** The tenant's low-balance threshold (micro-credits), or null when none is set. */
export async function lowBalanceThreshold(tenantId: string): Promise<bigint | null> {
  const row = await db
    .from('credit_settings')
    .where('tenant_id', tenantId)
    .select('low_balance_micros')
    .first()
  return row?.low_balance_micros ? BigInt(row.low_balance_micros) : null
}

/** Drops this process's cached alert settings of a tenant (after its budgets changed). */
export function forgetAlertConfig(tenantId: string) {
  configs.delete(tenantId)
}

async function alertConfig(tenantId: string): Promise<AlertConfig> {
  const cached = configs.get(tenantId)
  if (cached && cached.until > Date.now()) return cached
  const config = {
    budgets: await listBudgets(tenantId),
    lowBalance: await lowBalanceThreshold(tenantId),
    until: Date.now() + CONFIG_TTL_MS,
  }
  if (configs.size >= 50_000) configs.clear()
  configs.set(tenantId, config)
  return config
}

/**
 * After a charge: checks the budgets it counted against and the low-balance threshold, off the
 * request path. Each alert is recorded once per (budget, period, threshold) — a row in
 * budget_alerts inserted ON CONFLICT DO NOTHING decides, whichever process gets there first —
 * and goes to the tenant's owners and admins (and the member, for a member budget) in the app
 * and by email. Settings are cached per process for 30 s: a new budget alerts within that.
 */
export function alertAfterCharge(
  tenantId: string,
  subjects: { memberId: string | null; agentId: string | null }
) {
  const task: Promise<void> = checkAlerts(tenantId, subjects)
    .catch((error) => logger.error({ err: error, tenantId }, 'credit alerts failed'))
    .finally(() => pending.delete(task))
  pending.add(task)
}

/** Resolves when every alert check started so far has finished (tests, shutdown). */
export async function alertsIdle() {
  while (pending.size) await Promise.all([...pending])
}

async function checkAlerts(
  tenantId: string,
  subjects: { memberId: string | null; agentId: string | null }
) {
  const config = await alertConfig(tenantId)
  const relevant = config.budgets.filter(
    (b) =>
      (b.scope === 'member' && b.subjectId === subjects.memberId) ||
      (b.scope === 'agent' && b.subjectId === subjects.agentId)
  )
  if (!relevant.length && config.lowBalance === null) return
  const period = periodAt(new Date(), (await tenantTimeZone(tenantId)) ?? 'UTC')

  if (relevant.length) {
    const spent = await spentByBudget(
      db,
      tenantId,
      {
        members: relevant.filter((b) => b.scope === 'member').map((b) => b.subjectId),
        agents: relevant.filter((b) => b.scope === 'agent').map((b) => b.subjectId),
      },
      period.start.toJSDate(),
      false
    )
    for (const budget of relevant) {
      const used = spent.get(`${budget.scope}:${budget.subjectId}`) ?? 0n
      const reached = BUDGET_THRESHOLDS.filter((t) => used * 100n >= budget.limit * BigInt(t))
      const fresh = await recordAlerts(
        tenantId,
        `${budget.scope}:${budget.subjectId}`,
        period.firstDay,
        reached
      )
      if (!fresh.length) continue
      const threshold = Math.max(...fresh)
      await BudgetThresholdReached.dispatch({
        tenantId,
        scope: budget.scope,
        subjectId: budget.subjectId,
        threshold,
        period: period.key,
        spentMicros: used,
        limitMicros: budget.limit,
      })
      await sendAlert(tenantId, {
        kind: 'budget.threshold',
        extraRecipient: budget.scope === 'member' ? budget.subjectId : null,
        dedupeKey: `budget:${budget.scope}:${budget.subjectId}:${period.key}:${threshold}`,
        title: `A monthly ${budget.scope} budget reached ${threshold} %`,
        body: async (workspace) =>
          `${await subjectName(tenantId, budget)} has spent ${formatCredits(used)} of its ` +
          `${formatCredits(budget.limit)} credits monthly budget in ${workspace} (${period.key}).` +
          (threshold >= 100 ? ' Runs that would exceed it are refused until next month.' : ''),
      })
    }
  }

  if (config.lowBalance !== null) {
    const { available } = await balanceOf(tenantId)
    if (available >= config.lowBalance) return
    const fresh = await recordAlerts(tenantId, 'low_balance', period.firstDay, [0])
    if (!fresh.length) return
    await CreditsRanLow.dispatch({
      tenantId,
      period: period.key,
      availableMicros: available,
      thresholdMicros: config.lowBalance,
    })
    await sendAlert(tenantId, {
      kind: 'credits.low',
      extraRecipient: null,
      dedupeKey: `credits.low:${period.key}`,
      title: 'Credits are running low',
      body: async (workspace) =>
        `${workspace} has ${formatCredits(available)} credits available, below its alert ` +
        `threshold of ${formatCredits(config.lowBalance!)}. Buy credits to keep runs going.`,
    })
  }
}

/** Inserts the alert rows; returns the thresholds this call recorded first. */
async function recordAlerts(
  tenantId: string,
  subject: string,
  period: string,
  thresholds: readonly number[]
) {
  if (!thresholds.length) return []
  return withTenant(tenantId, async (trx) => {
    const result = await trx.rawQuery(
      `INSERT INTO budget_alerts (tenant_id, subject, period, threshold)
       SELECT ?, ?, ?::date, t FROM unnest(?::int[]) AS t
       ON CONFLICT DO NOTHING RETURNING threshold`,
      [tenantId, subject, period, [...thresholds]]
    )
    return result.rows.map((row: { threshold: number }) => Number(row.threshold))
  })
}

async function subjectName(tenantId: string, budget: Budget) {
  if (budget.scope === 'member') {
    const user = await User.find(budget.subjectId)
    return user ? user.name || user.email : 'A former member'
  }
  const name = (await agentNames(tenantId, [budget.subjectId])).get(budget.subjectId)
  return name ? `Agent "${name}"` : 'An agent'
}

async function sendAlert(
  tenantId: string,
  alert: {
    kind: 'budget.threshold' | 'credits.low'
    extraRecipient: string | null
    dedupeKey: string
    title: string
    body: (workspace: string) => Promise<string>
  }
) {
  const tenant = await Tenant.find(tenantId)
  if (!tenant) return
  const managers = await Membership.query()
    .where('tenantId', tenantId)
    .where((q) => {
      q.whereIn('role', ['owner', 'admin'])
      if (alert.extraRecipient) q.orWhere('userId', alert.extraRecipient)
    })
    .select('userId')
  const users = await User.query().whereIn(
    'id',
    managers.map((m) => m.userId)
  )
  const recipients: Recipient[] = users.map((u) => ({ userId: u.id, email: u.email }))
  await notify({
    recipients,
    tenantId,
    kind: alert.kind,
    title: alert.title,
    body: await alert.body(tenant.name),
    url: new URL(urlFor('credits.budgets.show', { tenant: tenant.slug }), appUrl).toString(),
    dedupeKey: alert.dedupeKey,
  })
}
